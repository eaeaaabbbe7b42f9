"""sipvicious (Debian's package) against centralino: svwar enumerates extensions 200-215 (by REGISTER,
even with --force) and finds none; svcrack tries a word list holding the real password after a dozen
wrong ones and cracks nothing: the ban after five failures stops it first."""

from __future__ import annotations

from .helpers import HOST, PHONE_PASSWORD, run_tool
from .test_security import _play


def test_sipvicious_finds_no_extension_and_cracks_nothing(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("\n".join([f"guess{i}" for i in range(12)] + [PHONE_PASSWORD]) + "\n")

    async def story(s, sip_port):
        results = {}
        for name, argv in (("svwar", ["svwar", "-p", str(sip_port), "-e", "200-215", "--force", "--maximumtime", "2", HOST]),
                           ("svcrack", ["svcrack", "-p", str(sip_port), "-u", "210", "-d", str(words),
                                        "--maximumtime", "2", HOST])):
            results[name] = await run_tool(*argv, timeout_s=30, cwd=tmp_path)
        return results, s.daemon.sip.status()

    results, status = _play(tmp_path, story, "svwar", "svcrack")
    for name in ("svwar",):
        rc, out = results[name]
        assert "found nothing" in out and "| Extension" not in out, out
    rc, out = results["svcrack"]
    assert "found nothing" in out and PHONE_PASSWORD not in out, out
    assert status["security"]["banned"] >= 1 and status["registered"] == {}

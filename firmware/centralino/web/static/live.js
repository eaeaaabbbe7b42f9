// centralino: live figures for the wallboard and the calls in progress, from /eventi (server-sent
// events). The pages are complete without this script; it only keeps their numbers current.
(function () {
  "use strict";
  var board = document.querySelector("[data-live=wallboard]");
  var calls = document.getElementById("chiamate-in-corso");
  if (!board && !calls) { return; }
  var topics = [];
  if (board) { topics.push("wallboard"); }
  if (calls) { topics.push("calls", "events"); }
  var statusLine = document.getElementById(board ? "wb-stato" : "chiamate-stato");
  var directions = {inbound: "in arrivo", outbound: "in uscita", internal: "interna"};  // as labels.py
  var states = {setup: "in preparazione", ringing: "squilla", answered: "in conversazione", ended: "terminata"};
  var KEEP = 200;  // what a wallboard left on for weeks remembers of what it received
  window.centralinoLive = {received: [], events: [], connected: false};
  function keep(list, item) { list.push(item); if (list.length > KEEP) { list.shift(); } }

  function duration(s) {
    s = Math.round(s);
    if (s < 60) { return s + " s"; }
    var m = Math.floor(s / 60), r = s % 60;
    return m + " min " + (r < 10 ? "0" : "") + r + " s";
  }
  function percent(x) { return x === null || x === undefined ? "-" : Math.round(100 * x) + "%"; }
  function say(text) { if (statusLine) { statusLine.textContent = text; } }
  function time(iso) { var d = iso ? new Date(iso) : new Date(); return d.toLocaleTimeString("it-IT"); }

  function showBoard(data) {
    (data.offices || []).forEach(function (b) {
      var card = board.querySelector('.wallboard-card[data-office="' + CSS.escape(b.office) + '"]');
      if (!card) { return; }
      var values = {waiting: b.waiting, longest_wait: duration(b.longest_wait_s), free: b.free, busy: b.busy,
                    away: b.away, service_level: percent(b.today.service_level), offered: b.today.offered,
                    abandoned: b.today.abandoned};
      Object.keys(values).forEach(function (k) {
        var cell = card.querySelector('[data-field="' + k + '"]');
        if (cell && cell.textContent !== String(values[k])) { cell.textContent = values[k]; }
      });
    });
    if (window.centralinoLive.connected) { say("Dati aggiornati alle " + time(data.at)); }
  }

  function showCalls(data) {
    while (calls.firstChild) { calls.removeChild(calls.firstChild); }
    var rows = data.calls || [];
    if (!rows.length) {
      var empty = document.createElement("tr"), td = document.createElement("td");
      td.colSpan = 5; td.textContent = "Nessuna chiamata in corso."; empty.appendChild(td); calls.appendChild(empty);
    }
    rows.forEach(function (c) {
      var tr = document.createElement("tr");
      [directions[c.direction] || c.direction, c.caller, c.called, states[c.state] || c.state,
       Array.isArray(c.ports) ? c.ports.join(", ") : c.ports].forEach(function (v) {
        var td = document.createElement("td"); td.textContent = v === undefined || v === null ? "" : v; tr.appendChild(td);
      });
      calls.appendChild(tr);
    });
    if (window.centralinoLive.connected) { say(rows.length + " chiamate in corso, aggiornato alle " + time()); }
  }

  var source = new EventSource("/eventi?argomenti=" + topics.join(","));
  source.addEventListener("wallboard", function (e) {
    var data = JSON.parse(e.data);
    keep(window.centralinoLive.received, {topic: "wallboard", at: Date.now(), data: data});
    if (board) { showBoard(data); }
  });
  source.addEventListener("calls", function (e) {
    var data = JSON.parse(e.data);
    keep(window.centralinoLive.received, {topic: "calls", at: Date.now(), fetched_at: data.fetched_at});
    if (calls) { showCalls(data); }
  });
  source.addEventListener("events", function (e) {
    var data = JSON.parse(e.data);
    keep(window.centralinoLive.events, {kind: data.event, call_id: data.call_id, at: Date.now()});
  });
  source.addEventListener("daemon", function (e) {
    var data = JSON.parse(e.data);
    window.centralinoLive.connected = data.up;
    if (!data.up) { say("Il centralino non risponde: i dati mostrati potrebbero non essere aggiornati."); }
  });
  source.onerror = function () { say("Collegamento interrotto, nuovo tentativo in corso…"); };
})();

"""Maps the design card's top-level folders into one import name.

firmware/centralino is the package; drivers/ and hw-sim/ sit at the top of the tree, as the
design card lays it out, and install as centralino.drivers and centralino.hwsim so that every
layer is reached through one name. pyproject.toml alone cannot map several source roots.
"""
from setuptools import find_packages, setup

SOURCE_ROOTS = {"centralino.drivers": "drivers", "centralino.hwsim": "hw-sim"}

setup(
    packages=find_packages("firmware") + list(SOURCE_ROOTS),
    package_dir={"": "firmware", **SOURCE_ROOTS},
    # package data is in pyproject.toml: when both give it, setuptools keeps only pyproject's
)

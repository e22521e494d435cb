"""The host plugins ship inside the package as `bridge.host_plugin`, read from where they live in
the repository (host-plugin/, whose tests stay out): pyproject.toml alone cannot add a package
from another folder to the ones it finds."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["bridge*"]), "bridge.host_plugin"],
    package_dir={"bridge.host_plugin": "host-plugin"},
)

"""The package build beside pyproject.toml: the top-level connectors/ folder installs as vts.connectors.

pyproject.toml cannot name packages that live outside their parent's folder, so they are listed here.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["vts", "vts.*"])
    + [f"vts.{name}" for name in find_packages(include=["connectors", "connectors.*"])],
    package_dir={"vts.connectors": "connectors"},
)

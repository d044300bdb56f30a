"""moevae: a Mixture-of-Experts VAE trained while a live Visdom board shows it."""
from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="moevae",
    version="0.1.0",
    description="Unsupervised Mixture-of-Experts VAE with a live Visdom "
                "board: the pynet workflow, re-implemented",
    long_description=Path(__file__).with_name("README.md").read_text(),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.11,<3.12",
    packages=find_packages(include=["moevae", "moevae.*"]),
    package_data={"moevae.datasets": ["data/*.gz", "data/*.md", "data/*.txt"]},
    install_requires=[
        "torch>=2.4,<2.15",
        "torchvision>=0.19,<0.30",
        "numpy>=1.26,<3",
        "scipy>=1.11,<2",
        "scikit-learn>=1.4,<2",
        # the start partition's UMAP (numba inside): linear in the images
        "umap-learn>=0.5.5,<0.6",
        "pandas>=2.1,<4",
        "matplotlib>=3.8,<4",
        "tqdm>=4.66,<5",
        "requests>=2.31,<3",
        "pillow>=10,<14",
        # visdom 0.2.4 is the last release for Python 3.11; its index page
        # answers 403 with tornado >= 6.5
        "visdom==0.2.4",
        "tornado>=6.3,<6.5",
    ],
    extras_require={
        "test": ["pytest>=8,<10", "hypothesis>=6.100,<7",
                 "pytest-timeout>=2.3,<3"],
        "lint": ["ruff==0.17.6", "mypy==2.4.1"],  # exact: the same findings in CI
        "docs": ["sphinx>=8.1,<9", "furo>=2024.8", "sphinx-gallery>=0.18,<1",
                 "sphinx-argparse>=0.5,<0.7"],
    },
    entry_points={"console_scripts": ["moevae=moevae.cli:main"]},
)

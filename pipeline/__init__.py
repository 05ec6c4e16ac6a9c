"""tokenrisk: nightly crypto market-risk pipeline."""

__version__ = "0.1.0"

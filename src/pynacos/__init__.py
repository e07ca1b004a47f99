"""pynacos: a Nacos-compatible server and client."""

__version__ = "0.1.0"

"""Connect the users of a Django site to their organisation's Jira Data Center."""

__version__ = "0.1.0.dev0"

"""Plumbing shared by the API connectors (Confluence, Notion, Google Drive): HTTP with retries,
a request pace, deadlines and a stop; credentials from the environment; incremental listings."""

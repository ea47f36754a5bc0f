"""The deterministic Demo Bank dataset that the embedded warehouse and the dashboards run on."""

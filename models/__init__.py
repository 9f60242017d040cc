"""Reference SOPs (BPMN 2.0, one per channel) and default policy files, shipped as package data."""

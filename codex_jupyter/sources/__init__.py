"""Sources talk to the outside world and return frames; no display code here."""

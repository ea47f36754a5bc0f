"""Front doors: each magic parses its line, calls the layers below and returns a displayable."""

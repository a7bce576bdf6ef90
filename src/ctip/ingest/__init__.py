"""Reading, mapping, validating and loading agency files into the workspace."""

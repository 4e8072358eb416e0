"""Places («Lugares»): the merged gazetteer, the team's imported and confirmed entries."""

"""Test helpers shipped with mlrig, so that plugin stores can run the same contract suite."""

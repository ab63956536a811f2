"""The live probe (`regaudit trace`): the only code that opens network connections to registries."""

"""Code-mods for a Megatron-Bridge tree: clone-family, refactors, smoke tests."""

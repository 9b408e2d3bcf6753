"""TEST-ONLY: planted faults, the interleavings' player, benchmarks. Production code never imports it."""

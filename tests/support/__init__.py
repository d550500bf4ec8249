"""Test helpers shared by the suites: the simulated upstream and clients that time what they receive."""

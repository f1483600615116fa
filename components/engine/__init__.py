"""Engines that run the program and return a Plan: offline (mock runtime) and real (Automation API)."""

# True in the CLI, whose process ends after one command: the offline engine then freezes what a plan run
# allocated (gc.freeze) instead of leaving it to later collections; a test process plans hundreds of stacks
# and keeps the collector's default.
ONE_SHOT_PROCESS = False

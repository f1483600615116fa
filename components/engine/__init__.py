"""Engines that run the program and return a Plan: offline (mock runtime) and real (Automation API)."""

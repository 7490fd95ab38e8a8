import sys

from providers.simulator.serve import run_simulator_cli

sys.exit(run_simulator_cli())

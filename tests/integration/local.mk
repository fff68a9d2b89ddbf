# tests/integration/local.mk - shell tests that drive the ddbsim program.
INTEGRATION_TESTS += \
	tests/integration/default_scenario.sh \
	tests/integration/determinism.sh \
	tests/integration/cli.sh \
	tests/integration/bad_input.sh \
	tests/integration/outage.sh \
	tests/integration/kill_drain.sh \
	tests/integration/decision_table.sh \
	tests/integration/faults.sh \
	tests/integration/node_state.sh \
	tests/integration/chaos.sh \
	tests/integration/fuzz_findings.sh

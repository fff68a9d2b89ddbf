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
	tests/integration/fault_overlap.sh \
	tests/integration/node_state.sh \
	tests/integration/lost_queued_write.sh \
	tests/integration/sales_bounds.sh \
	tests/integration/datadir_lock.sh \
	tests/integration/interrupt.sh \
	tests/integration/check_readonly.sh \
	tests/integration/chaos.sh \
	tests/integration/sweep_shrink.sh \
	tests/integration/script_bounds.sh \
	tests/integration/workload_rates.sh \
	tests/integration/rule_contract.sh \
	tests/integration/strict_names.sh \
	tests/integration/fuzz_findings.sh

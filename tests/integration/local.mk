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
	tests/integration/fuzz_findings.sh \
	tests/integration/serve_basics.sh \
	tests/integration/serve_customers.sh \
	tests/integration/serve_compat.sh \
	tests/integration/serve_products.sh \
	tests/integration/serve_record.sh \
	tests/integration/serve_faults.sh \
	tests/integration/serve_events.sh \
	tests/integration/serve_metrics.sh \
	tests/integration/serve_security.sh \
	tests/integration/serve_load.sh \
	tests/integration/serve_full.sh \
	tests/integration/page_static.sh \
	tests/integration/page.sh \
	tests/integration/report_html.sh \
	tests/integration/stmt2c.sh
# The servers of etc/full.conf for the serve_*.sh tests (serve_full.sh).
EXTRA_DIST += tests/integration/full_lib.sh
# The browser test's script, and what it leaves beside its log.
EXTRA_DIST += tests/browser/page_test.py
clean-local: clean-page-test
clean-page-test:
	-rm -rf tests/integration/page.d
.PHONY: clean-page-test

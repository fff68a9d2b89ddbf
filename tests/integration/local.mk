# tests/integration/local.mk - shell tests that drive the ddbsim program.
INTEGRATION_TESTS += 

/*
 * cli.h - the ddbsim command line: subcommands run, drain, check, plugins.
 */
#ifndef DDBSIM_CLI_H
#define DDBSIM_CLI_H

/* Exit statuses. */
#define EXIT_CHECKS_HOLD 0
#define EXIT_CHECK_FAILED 1
#define EXIT_USAGE 2

/* Runs the command line; returns the process exit status. */
int cli_main(int argc, char **argv);

#endif

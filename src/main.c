/*
 * main.c - the ddbsim program: everything is in the core library; this only
 * hands the command line to it.
 */
#include "cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}

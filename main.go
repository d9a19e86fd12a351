// Command gatehouse is a self-hosted account-management and sign-in server
// with its admin console built in. See README.md.
package main

import (
	"os"

	"gatehouse/server/cli"
)

func main() { os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, consoleFS)) }

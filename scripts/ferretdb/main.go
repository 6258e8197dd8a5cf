// Command ferretdb runs FerretDB v1.24.2 (SQLite backend) as Verdict's embedded database.
//
// It wraps FerretDB's embeddable package rather than building cmd/ferretdb: the module proxy copy of
// v1.24.2 lacks build/version/version.txt, so its own command panics at start when built with
// `go install …@v1.24.2` (and the proxy also refuses the deprecation lookup that command does).
// Built as part of this module, FerretDB skips that check and serves the same wire protocol.
//
// It exits when its standard input closes, so the database never outlives the Node.js process
// that started it, even when that process is killed with SIGKILL.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on")
	handler := flag.String("handler", "sqlite", "backend handler (sqlite)")
	sqliteURL := flag.String("sqlite-url", "file:data/", "SQLite URI (a directory, ending with /)")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn, error")
	// Accepted for compatibility with FerretDB's own command line; the embeddable package never
	// reports telemetry and starts no debug listener.
	flag.String("telemetry", "disable", "telemetry (always disabled)")
	flag.String("debug-addr", "-", "debug listener (always disabled)")
	flag.String("state-dir", ".", "state directory (unused: state is kept in memory)")
	watchStdin := flag.Bool("exit-on-stdin-close", true, "exit when standard input closes")
	flag.Parse()

	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(*logLevel))); err != nil {
		fmt.Fprintf(os.Stderr, "invalid --log-level %q\n", *logLevel)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listenAddr},
		Handler:   *handler,
		SQLiteURL: *sqliteURL,
		Logger:    logger,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %s\n", err)
		os.Exit(1)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *watchStdin {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}

	if err := f.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %s\n", err)
		os.Exit(1)
	}
}

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
	"database/sql"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	_ "modernc.org/sqlite" // the driver FerretDB itself uses, registered as "sqlite"
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

	go indexIDLookups(ctx, sqliteDir(*sqliteURL), logger)

	if err := f.Run(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %s\n", err)
		os.Exit(1)
	}
}

// sqliteDir turns FerretDB's --sqlite-url ("file:<dir>/", maybe with a query) into the directory.
func sqliteDir(url string) string {
	dir := strings.TrimPrefix(url, "file:")
	if i := strings.IndexByte(dir, '?'); i >= 0 {
		dir = dir[:i]
	}
	return dir
}

// indexIDLookups gives every collection table an index on the expression FerretDB v1.24.2 looks
// documents up by. Its _id pushdown queries `_ferretdb_sjson->'$._id' = ?`, but its own unique index is
// on `_ferretdb_sjson->"_id"`; SQLite uses an expression index only for the identical expression, so
// every find, update or delete by _id scanned the whole table (a lookup for a missing _id took
// ~120 ms at 20,000 documents). Collections appear at run time, so the tables are checked every second.
func indexIDLookups(ctx context.Context, dir string, logger *slog.Logger) {
	dbs := map[string]*sql.DB{}
	defer func() {
		for _, db := range dbs {
			_ = db.Close()
		}
	}()
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
		for _, file := range files {
			db, ok := dbs[file]
			if !ok {
				var err error
				// mode=rw: only databases FerretDB has created; busy_timeout as FerretDB sets it.
				db, err = sql.Open("sqlite", "file:"+file+"?mode=rw&_pragma=busy_timeout(10000)")
				if err != nil {
					continue
				}
				db.SetMaxOpenConns(1)
				dbs[file] = db
			}
			if err := ensureIDIndexes(ctx, db); err != nil && ctx.Err() == nil {
				logger.WarnContext(ctx, "could not index _id lookups", slog.String("file", filepath.Base(file)), slog.String("error", err.Error()))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func ensureIDIndexes(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT t.name FROM sqlite_master t
		WHERE t.type = 'table' AND t.name IN (SELECT table_name FROM _ferretdb_collections)
		AND NOT EXISTS (SELECT 1 FROM sqlite_master i WHERE i.type = 'index' AND i.name = t.name || '__id_lookup')`)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return nil // FerretDB has not written its metadata yet
		}
		return err
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			_ = rows.Close()
			return err
		}
		tables = append(tables, name)
	}
	_ = rows.Close()
	for _, table := range tables {
		q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, table+"__id_lookup", table)
		if _, err := db.ExecContext(ctx, q); err != nil && !strings.Contains(err.Error(), "no such table") {
			return err
		}
	}
	return nil
}

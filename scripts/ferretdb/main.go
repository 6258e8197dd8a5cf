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

	removeUnfinishedDatabases(sqliteDir(*sqliteURL), logger)
	dropIDLookupIndexes(sqliteDir(*sqliteURL), logger)

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

// sqliteDir turns FerretDB's --sqlite-url ("file:<dir>/", maybe with a query) into the directory.
func sqliteDir(url string) string {
	dir := strings.TrimPrefix(url, "file:")
	if i := strings.IndexByte(dir, '?'); i >= 0 {
		dir = dir[:i]
	}
	return dir
}

// removeUnfinishedDatabases removes database files that hold no table at all. FerretDB creates a database
// in two steps: it opens (creates) the file, then creates its metadata table in it. A kill -9 between the
// two leaves a file without that table, and FerretDB then refuses to start ("no such table:
// _ferretdb_collections") on every start after. Such a file holds no collection, so nothing is lost; the
// database is made again when it is next written to.
func removeUnfinishedDatabases(dir string, logger *slog.Logger) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	for _, file := range files {
		empty, err := hasNoTables(file)
		if err != nil {
			logger.Warn("could not check a database file", slog.String("file", filepath.Base(file)), slog.String("error", err.Error()))
			continue
		}
		if !empty {
			continue
		}
		for _, f := range []string{file, file + "-wal", file + "-shm"} {
			if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
				logger.Warn("could not remove an unfinished database file", slog.String("file", filepath.Base(f)), slog.String("error", err.Error()))
			}
		}
		logger.Warn("removed a database file whose creation was interrupted (it held no table)", slog.String("file", filepath.Base(file)))
	}
}

// hasNoTables opens a database file (recovering its write-ahead log as SQLite does) and tells whether it
// holds no table.
func hasNoTables(file string) (bool, error) {
	db, err := sql.Open("sqlite", "file:"+file+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		return false, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var tables int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table'`).Scan(&tables); err != nil {
		return false, err
	}
	return tables == 0, nil
}

// dropIDLookupIndexes drops the `<table>__id_lookup` indexes earlier builds of this wrapper added to
// every collection table. FerretDB looked documents up by an expression its own unique _id index did not
// match, so the wrapper indexed that expression too; patch 0004 makes the lookup use the unique index,
// and the extra index only cost every write one more parse of the document's JSON.
func dropIDLookupIndexes(dir string, logger *slog.Logger) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	for _, file := range files {
		if err := dropIDLookupIndexesOf(file); err != nil {
			logger.Warn("could not drop the old _id lookup indexes", slog.String("file", filepath.Base(file)), slog.String("error", err.Error()))
		}
	}
}

func dropIDLookupIndexesOf(file string) error {
	// mode=rw: only databases FerretDB has created; busy_timeout as FerretDB sets it.
	db, err := sql.Open("sqlite", "file:"+file+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%\_\_id\_lookup' ESCAPE '\'`)
	if err != nil {
		return err
	}
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			_ = rows.Close()
			return err
		}
		names = append(names, name)
	}
	_ = rows.Close()
	for _, name := range names {
		if _, err := db.Exec(fmt.Sprintf(`DROP INDEX IF EXISTS %q`, name)); err != nil {
			return err
		}
	}
	return nil
}

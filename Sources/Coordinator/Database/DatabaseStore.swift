import DCDNCore
import FluentKit
import FluentPostgresDriver
import FluentSQLiteDriver
import Foundation
import Logging
import NIOPosix
import SQLKit
import ServiceLifecycle
import Synchronization

/// The coordinator's database: embedded SQLite by default, PostgreSQL with a URL; the same
/// migrations for both. A service of the role's group: listed first, it is shut down last, once
/// the server and the jobs have drained.
public final class DatabaseStore: Service, Sendable {
    public enum Engine: String, Sendable { case sqlite, postgres }

    public let databases: Databases
    public let engine: Engine
    let logger: Logger
    let migrations: Migrations
    private let closed = Atomic<Bool>(false)

    public init(settings: DCDNSettings, logger: Logger) throws {
        self.logger = logger
        databases = Databases(threadPool: NIOThreadPool.singleton, on: MultiThreadedEventLoopGroup.singleton)
        if let url = settings.databaseURL {
            guard url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") else {
                throw SettingsError(key: "database_url", message: "must be a postgres:// URL (SQLite is used when it is not set)")
            }
            databases.use(try .postgres(url: url, maxConnectionsPerEventLoop: 4), as: .psql)
            engine = .postgres
        } else {
            try FileManager.default.createDirectory(atPath: settings.dataDirectory, withIntermediateDirectories: true)
            databases.use(.sqlite(.file(settings.sqlitePath)), as: .sqlite)
            engine = .sqlite
        }
        migrations = Migrations()
        // Each product area's tables, in the order of the area list.
        for area in ProductAreas.all { migrations.add(area.migrations) }
    }

    public var db: any Database {
        databases.database(logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())!
    }

    /// Runs `body` in one transaction that first takes the row `id` of `table` for itself, so that
    /// read-then-write sequences on what that row owns (a user's domains against the plan's
    /// limit, a domain's rules) run one at a time across requests and replicas. PostgreSQL locks
    /// the row (`SELECT … FOR UPDATE`); SQLite takes the database's write lock (`writeFirst`).
    public func exclusively<T: Sendable>(
        _ table: String, id: UUID, _ body: @escaping @Sendable (any Database) async throws -> T
    ) async throws -> T {
        try await db.transaction { [self] db in
            switch engine {
            case .postgres: try await lockRow(table, id: id, on: db)
            case .sqlite: try await Self.writeFirst(on: db)
            }
            return try await body(db)
        }
    }

    /// On PostgreSQL, locks the row `id` of `table` for the rest of the transaction `db`
    /// (`SELECT … FOR UPDATE`); SQLite locks the whole database for a writer anyway. Rows are
    /// taken before the configuration version (`ConfigFeed.bump`): one order for every
    /// transaction, so that two cannot deadlock.
    public func lockRow(_ table: String, id: UUID, on db: any Database) async throws {
        guard engine == .postgres else { return }
        _ = try await db.sql.select().column("id").from(table).where("id", .equal, id).for(.update).first()
    }

    /// On SQLite, takes the write lock at the start of a transaction with a write that changes
    /// nothing. A transaction that reads first cannot turn into a writer once another connection
    /// has committed (SQLITE_BUSY_SNAPSHOT, which no busy timeout waits out); one that writes
    /// first waits its turn instead.
    static func writeFirst(on db: any Database) async throws {
        try await db.sql.raw("UPDATE \(ident: ConfigState.schema) SET version = version WHERE id = 0").run()
    }

    /// Brings the schema up to date. On PostgreSQL an advisory lock makes concurrent replicas
    /// take turns, so starting N coordinators at once migrates once.
    public func migrate() async throws {
        if engine == .sqlite, let sql = db as? any SQLDatabase {
            // WAL lets readers proceed during a write; it is a property of the file and persists.
            try await sql.raw("PRAGMA journal_mode=WAL").run()
        }
        try await withMigrationLock { [self] in
            let migrator = Migrator(
                databases: databases, migrations: migrations, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
            try await migrator.setupIfNeeded().get()
            try await migrator.prepareBatch().get()
        }
    }

    /// Undoes every migration (tests and `dcdn db revert`).
    public func revertAll() async throws {
        let migrator = Migrator(
            databases: databases, migrations: migrations, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
        try await migrator.setupIfNeeded().get()
        try await migrator.revertAllBatches().get()
    }

    /// Names of the migrations that have not run yet.
    public func pendingMigrations() async throws -> [String] {
        let migrator = Migrator(
            databases: databases, migrations: migrations, logger: logger, on: MultiThreadedEventLoopGroup.singleton.any())
        try await migrator.setupIfNeeded().get()
        return try await migrator.previewPrepareBatch().get().map { $0.0.name }
    }

    /// A cheap round trip, for `/readyz`.
    public func ping() async throws {
        guard let sql = db as? any SQLDatabase else { return }
        try await sql.raw("SELECT 1").run()
    }

    /// Whether the database answers `SELECT 1` within `timeout`: after a request failed with an
    /// error nobody handled, this tells an outage (503, retry later) from a fault (500). Asking
    /// the database itself rather than recognising driver error types covers every way a
    /// connection can fail (refused, reset, pool timeout, server shutting down).
    public func answers(within timeout: Duration = .seconds(2)) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await self.ping()) != nil }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Closes the connection pools; only the first call does anything.
    public func shutdown() async {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        await databases.shutdownAsync()
    }

    /// Waits for the group's graceful shutdown, then closes the pools.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    private func withMigrationLock(_ body: @escaping @Sendable () async throws -> Void) async throws {
        guard engine == .postgres, let postgres = db as? any PostgresDatabase else {
            try await body()
            return
        }
        // One connection holds the session-level lock for the whole run while the migrator works
        // on other pooled connections.
        let key = 0x4443_444E  // "DCDN"
        try await postgres.withConnection { connection in
            connection.eventLoop.makeFutureWithTask {
                try await connection.sql().raw("SELECT pg_advisory_lock(\(literal: key))").run()
                do {
                    try await body()
                } catch {
                    try? await connection.sql().raw("SELECT pg_advisory_unlock(\(literal: key))").run()
                    throw error
                }
                try await connection.sql().raw("SELECT pg_advisory_unlock(\(literal: key))").run()
            }
        }.get()
    }
}

extension SQLDatabase {
    /// SUM of an integer column as Int64 on both engines (Fluent's `sum` cannot decode
    /// PostgreSQL's SUM of bigint, which is numeric). `filter` adds WHERE clauses.
    func sum(_ column: String, in table: String, _ filter: (SQLSelectBuilder) -> SQLSelectBuilder = { $0 }) async throws -> Int64 {
        let builder = select().column(SQLRaw("CAST(COALESCE(SUM(\(column)), 0) AS BIGINT)"), as: "total").from(table)
        return try await filter(builder).first()?.decode(column: "total", as: Int64.self) ?? 0
    }
}

extension Database {
    var sql: any SQLDatabase { self as! any SQLDatabase }
}

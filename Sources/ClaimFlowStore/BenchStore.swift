import PostgresNIO

/// Benchmark data for a scratch database (`claimflow bench seed`): bulk SQL, one statement
/// per table with generate_series for the rows, as a billing office accumulates over years.
/// Never used on a real practice's database: it refuses one that has encounters.
public struct BenchStore: DatabaseStore {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// The coders `seed` makes (`bench-coder-1` ...), the most concurrent clients a run can have.
    public static let coders = 256

    /// Seeds `encounters` encounters over `practices` practices, `open` of them in the coding
    /// and billing queues and the rest closed, with the users `bench-coder`, `bench-coder-1` ...,
    /// `bench-biller` and `bench-supervisor`. Throws `conflict` when the database has encounters already.
    public func seed(encounters: Int, open: Int, practices: Int) async throws {
        let existing = try await database.count("SELECT count(*)::int FROM encounters")
        guard existing == 0 else {
            throw StoreError(.conflict, "the database already has \(existing) encounters; seed an empty scratch database")
        }
        let statements: [PostgresQuery] = [
            """
            INSERT INTO practices (code, name, npi, tax_id, taxonomy, address_line1, city, state, postal_code)
            SELECT 'BENCH' || n, 'Bench Practice ' || n, '1234567893', '123456789', '207Q00000X', '1 Bench Way', 'Springfield', 'IL', '627011234'
            FROM generate_series(1, \(practices)) AS n
            """,
            """
            INSERT INTO payers (payer_code, name, filing_limit_days)
            SELECT 'BENCHPAY' || n, 'Bench Payer ' || n, (ARRAY[90, 180, 365])[1 + n % 3] FROM generate_series(1, 6) AS n
            """,
            """
            INSERT INTO providers (practice_id, npi, first_name, last_name)
            SELECT id, '1234567893', 'Bench', 'Provider' FROM practices
            """,
            """
            INSERT INTO users (username, display_name, roles, skills)
            VALUES ('bench-coder', 'Bench Coder', '{coder}', '{family_medicine,cardiology,orthopedics}'),
                   ('bench-biller', 'Bench Biller', '{biller}', '{}'),
                   ('bench-supervisor', 'Bench Supervisor', '{supervisor}', '{}')
            """,
            // One coder per concurrent client: the fair-share cap lets a person hold one lease
            // of a queue at a time, so the throughput run drains the queue as many people.
            """
            INSERT INTO users (username, display_name, roles, skills)
            SELECT 'bench-coder-' || n, 'Bench Coder ' || n, '{coder}', '{family_medicine,cardiology,orthopedics}'
            FROM generate_series(1, \(Self.coders)) AS n
            """,
            "INSERT INTO user_practices (user_id, practice_id) SELECT u.id, p.id FROM users u, practices p",
            """
            INSERT INTO patients (practice_id, mrn, first_name, last_name, birth_date, sex)
            SELECT p.id, 'B' || n, 'Bench', 'Patient' || n, date '1940-01-01' + (n % 25000)::int, (ARRAY['F', 'M'])[1 + n % 2]
            FROM generate_series(1, 100000) AS n
            JOIN (SELECT id, row_number() OVER (ORDER BY code) - 1 AS i FROM practices) p ON p.i = n % \(practices)
            """,
            """
            INSERT INTO encounters (practice_id, external_id, patient_id, payer_id, rendering_provider_id, date_of_service,
                                    place_of_service, specialty, stage, documentation)
            SELECT pt.practice_id, 'E' || n, pt.id, (SELECT id FROM payers ORDER BY payer_code OFFSET n % 6 LIMIT 1),
                   (SELECT id FROM providers v WHERE v.practice_id = pt.practice_id LIMIT 1),
                   current_date - (n % 720)::int, '11', (ARRAY['family_medicine', 'cardiology', 'orthopedics'])[1 + n % 3],
                   CASE WHEN n <= \(open) THEN (CASE WHEN n % 4 = 0 THEN 'ready_to_bill' ELSE 'ready_to_code' END) ELSE 'closed' END,
                   'Bench visit.'
            FROM generate_series(1, \(encounters)) AS n
            JOIN patients pt ON pt.mrn = 'B' || (1 + n % 100000)
            """,
            """
            INSERT INTO service_lines (encounter_id, version, line_number, code, units, charge, pointers)
            SELECT id, 1, 1, '99213', 1, 125.00, '{1}' FROM encounters WHERE stage IN ('ready_to_code', 'ready_to_bill')
            """,
            """
            INSERT INTO work_items (encounter_id, queue, practice_id, required_skill, waiting_stage, enqueued_at,
                                    date_of_service, filing_deadline, charges)
            SELECT e.id, CASE e.stage WHEN 'ready_to_bill' THEN 'billing' ELSE 'coding' END, e.practice_id,
                   CASE e.stage WHEN 'ready_to_code' THEN e.specialty END, e.stage, now() - (random() * interval '20 days'),
                   e.date_of_service, e.date_of_service + p.filing_limit_days, 125.00
            FROM encounters e JOIN payers p ON p.id = e.payer_id WHERE e.stage IN ('ready_to_code', 'ready_to_bill')
            """,
            "ANALYZE",
        ]
        for statement in statements {
            try await client.query(statement, logger: logger)
        }
    }
}

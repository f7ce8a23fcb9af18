public import ClaimFlowCore
import Foundation
import PostgresNIO

/// Benchmark data for a scratch database (`claimflow bench seed`): bulk SQL, one statement
/// per table with generate_series for the rows.
///
/// Every row is valid end to end, as intake and the coders would have made it: practices with
/// a ZIP+4 street address and a good NPI, payers with their profiles, rendering providers,
/// patients each insured as their own subscriber, and real ICD-10-CM and CPT codes on every
/// coded encounter, so a seeded encounter passes the handoff check into a claim and the claim
/// can be written as an 837P, exactly as in production. Never used on a real practice's
/// database: it refuses one that has encounters.
public struct BenchStore: DatabaseStore {
    public let database: Database

    public init(database: Database) { self.database = database }

    /// Encounters waiting, unleased, in the coding queue.
    public func waitingForCoding() async throws -> Int {
        try await database.count("SELECT count(*)::int FROM work_items WHERE queue = 'coding' AND lease_id IS NULL")
    }

    /// Whether a coded encounter is left to hand off, parked ones included. Asked ten times a
    /// second while the handoff phase runs, so it stops at the first one the partial index
    /// `encounters_coded` finds: a count scanned every coded row each time and took a tenth of
    /// the PostgreSQL CPU the phase reports.
    public func anyCodedLeft() async throws -> Bool {
        try await database.count("SELECT count(*)::int FROM (SELECT 1 FROM encounters WHERE stage = 'coded' LIMIT 1) AS one") > 0
    }

    /// The coders (`bench-coder-1` ...) and billers (`bench-biller-1` ...) `seed` makes: the
    /// most concurrent clients a run can have, since the fair-share cap gives one person one
    /// lease of a queue at a time.
    public static let people = 256

    /// The practice the intake benchmark sends its encounters to.
    public static let intakePractice = "BENCH1"

    /// How many encounters of each kind `seed` makes. They are numbered in this order, so the
    /// coding queue holds the first ones.
    public struct Volume: Sendable, Hashable {
        public var practices = 1
        /// In the coding queue (`ready_to_code`), not coded yet.
        public var coding = 0
        /// Coded with valid codes and due for the handoff check (`coded`).
        public var coded = 0
        /// Claim version 1 made and waiting in the billing queue (`ready_to_bill`).
        public var billing = 0
        /// Received from the clinic and not queued yet (``queueReceived()`` queues them).
        public var received = 0
        /// Finished history (`closed`), as a billing office accumulates over years.
        public var closed = 0

        public init() {}

        public var total: Int { coding + coded + billing + received + closed }
    }

    /// The specialties seeded encounters rotate through, with what a coder of each would
    /// assign: billable ICD-10-CM codes of the April 2026 release and CPT codes with their
    /// modifiers, units, charges and pointers. The load client codes with the same sets.
    public static let codeSets: [(specialty: String, taxonomy: String, codes: CodeAssignment)] = [
        (
            "family_medicine", "207Q00000X",
            CodeAssignment(
                diagnoses: ["E119", "I10"],
                lines: [ServiceLine(code: "99214", units: 1, charge: Decimal(string: "185.00")!, pointers: [1, 2])]
            )
        ),
        (
            "cardiology", "207RC0000X",
            CodeAssignment(
                diagnoses: ["I4891", "E785"],
                lines: [
                    ServiceLine(code: "99214", units: 1, charge: Decimal(string: "185.00")!, pointers: [1, 2]),
                    ServiceLine(code: "93000", units: 1, charge: Decimal(string: "45.00")!, pointers: [1]),
                ]
            )
        ),
        (
            "orthopedics", "207X00000X",
            CodeAssignment(
                diagnoses: ["M1711"],
                lines: [
                    ServiceLine(code: "99213", modifiers: ["25"], units: 1, charge: Decimal(string: "125.00")!, pointers: [1]),
                    ServiceLine(code: "20610", modifiers: ["RT"], units: 1, charge: Decimal(string: "210.00")!, pointers: [1]),
                ]
            )
        ),
    ]

    /// The rendering providers each practice gets, one per specialty of ``codeSets``, with NPIs
    /// whose check digit is right.
    public static let providers: [(npi: String, firstName: String, lastName: String)] = [
        (NPI.withCheckDigit(firstNine: "198765432")!.digits, "Maria", "Alvarez"),
        (NPI.withCheckDigit(firstNine: "176543210")!.digits, "James", "Okafor"),
        (NPI.withCheckDigit(firstNine: "154321098")!.digits, "Linda", "Chen"),
    ]

    /// The payers, with the profiles an 837P to each depends on.
    public static let payers: [Payer] = [
        Payer(payerCode: "BENCHMCR", name: "Bench Medicare", filingLimitDays: 365, claimFilingIndicator: "MB"),
        Payer(payerCode: "BENCHBCBS", name: "Bench Blue Cross", filingLimitDays: 180, claimFilingIndicator: "BL"),
        Payer(payerCode: "BENCHAET", name: "Bench Aetna", filingLimitDays: 90, claimFilingIndicator: "CI"),
        Payer(
            payerCode: "BENCHMCD", name: "Bench Medicaid", filingLimitDays: 365, claimFilingIndicator: "MC",
            acceptsCorrections: false),
        Payer(payerCode: "BENCHUHC", name: "Bench United", filingLimitDays: 90, claimFilingIndicator: "CI"),
        Payer(payerCode: "BENCHHMO", name: "Bench Health Plan", filingLimitDays: 120, claimFilingIndicator: "HM"),
    ]

    /// Patients' first names with their sex, as the 837P's DMG segment carries it.
    public static let firstNames = [
        ("Olivia", "F"), ("Liam", "M"), ("Emma", "F"), ("Noah", "M"), ("Ava", "F"), ("Elijah", "M"), ("Sophia", "F"),
        ("Mateo", "M"), ("Isabella", "F"), ("Lucas", "M"), ("Mia", "F"), ("Levi", "M"), ("Amelia", "F"), ("Ezra", "M"),
        ("Harper", "F"), ("Kai", "M"), ("Evelyn", "F"), ("Hiro", "M"), ("Aaliyah", "F"), ("Dmitri", "M"),
    ]
    /// Patients' last names.
    public static let lastNames = [
        "Johnson", "Nguyen", "Patel", "Garcia", "Kowalski", "OBrien", "Haddad", "Smith", "Williams", "Brown", "Rossi",
        "Muller", "Jackson", "Kim", "Lopez", "Anderson", "Yamamoto", "Dubois", "Singh", "Cohen",
    ]
    /// A clinician's note per specialty, in ``codeSets`` order.
    public static let notes = [
        "Established patient, follow-up of type 2 diabetes without complications and essential hypertension. A1c 7.2, BP 134/82. Continue metformin and lisinopril.",
        "Follow-up for atrial fibrillation on apixaban and hyperlipidemia. ECG today shows rate-controlled AF. Continue current therapy.",
        "Right knee pain, primary osteoarthritis. Intra-articular corticosteroid injection performed after a separate evaluation.",
    ]

    /// Seeds `volume` into an empty, migrated database, with the users `bench-coder`,
    /// `bench-coder-1` ..., `bench-biller`, `bench-biller-1` ..., `bench-intake` and
    /// `bench-supervisor`. Throws `conflict` when the database has encounters already.
    public func seed(_ volume: Volume) async throws {
        let existing = try await database.count("SELECT count(*)::int FROM encounters")
        guard existing == 0 else {
            throw StoreError(.conflict, "the database already has \(existing) encounters; seed an empty scratch database")
        }
        let practiceNPI = NPI.withCheckDigit(firstNine: "123456789")!.digits
        let providerNPIs = Self.providers.map(\.npi)
        let providerFirst = Self.providers.map(\.firstName)
        let providerLast = Self.providers.map(\.lastName)
        let specialties = Self.codeSets.map(\.specialty)
        let taxonomies = Self.codeSets.map(\.taxonomy)
        let firstNames = Self.firstNames.map(\.0)
        let sexes = Self.firstNames.map(\.1)
        let lastNames = Self.lastNames
        let notes = Self.notes
        let practices = volume.practices
        let total = volume.total
        // Patients recur across visits, as at a real practice: at most 100,000 of them.
        let patients = max(1, min(total, 100_000))
        let (codingEnd, codedEnd, billingEnd, receivedEnd) = (
            volume.coding, volume.coding + volume.coded, volume.coding + volume.coded + volume.billing,
            volume.coding + volume.coded + volume.billing + volume.received
        )
        var statements: [PostgresQuery] = [
            """
            INSERT INTO practices (code, name, npi, tax_id, taxonomy, address_line1, city, state, postal_code)
            SELECT 'BENCH' || n, 'Bench Family Practice ' || n, \(practiceNPI), (741852000 + n)::text, '207Q00000X',
                   '100 Main Street', 'Springfield', 'IL', '627011234'
            FROM generate_series(1, \(practices)::int) AS n
            """
        ]
        for payer in Self.payers {
            statements.append(
                """
                INSERT INTO payers (payer_code, name, filing_limit_days, claim_filing_indicator, accepts_corrections,
                                    corrected_filing_limit_days)
                VALUES (\(payer.payerCode), \(payer.name), \(payer.filingLimitDays), \(payer.claimFilingIndicator),
                        \(payer.acceptsCorrections), \(payer.correctedFilingLimitDays))
                """
            )
        }
        statements += [
            """
            INSERT INTO providers (practice_id, npi, first_name, last_name, taxonomy)
            SELECT p.id, v.npi, v.first_name, v.last_name, v.taxonomy FROM practices p
            CROSS JOIN unnest(\(providerNPIs)::text[], \(providerFirst)::text[], \(providerLast)::text[], \(taxonomies)::text[])
                AS v (npi, first_name, last_name, taxonomy)
            """,
            """
            INSERT INTO users (username, display_name, roles, skills)
            VALUES ('bench-coder', 'Bench Coder', '{coder}', \(specialties)::text[]),
                   ('bench-biller', 'Bench Biller', '{biller}', '{}'),
                   ('bench-intake', 'Bench Front Desk', '{intake}', '{}'),
                   ('bench-supervisor', 'Bench Supervisor', '{supervisor}', '{}')
            """,
            // One coder and one biller per concurrent client: the fair-share cap lets a person
            // hold one lease of a queue at a time, so a load of N clients is N people.
            """
            INSERT INTO users (username, display_name, roles, skills)
            SELECT 'bench-' || r.role || '-' || n, 'Bench ' || initcap(r.role) || ' ' || n, ARRAY[r.role],
                   CASE r.role WHEN 'coder' THEN \(specialties)::text[] ELSE '{}' END
            FROM generate_series(1, \(Self.people)::int) AS n CROSS JOIN (VALUES ('coder'), ('biller')) AS r (role)
            """,
            """
            INSERT INTO user_practices (user_id, practice_id)
            SELECT u.id, p.id FROM users u, practices p WHERE u.username LIKE 'bench-%'
            """,
            // Each patient is insured as their own subscriber (relationship 18), with an address,
            // as the 837P's loop 2010BA needs.
            """
            INSERT INTO patients (practice_id, mrn, first_name, last_name, birth_date, sex, address_line1, city, state,
                                  postal_code)
            SELECT p.id, 'MRN' || n, (\(firstNames)::text[])[1 + n % 20], (\(lastNames)::text[])[1 + (n / 20) % 20],
                   date '1940-01-01' + (n * 7919 % 25000), (\(sexes)::text[])[1 + n % 20],
                   (100 + n % 900) || ' Oak Avenue', 'Springfield', 'IL', '62704'
            FROM generate_series(1, \(patients)::int) AS n
            JOIN (SELECT id, row_number() OVER (ORDER BY code) - 1 AS i FROM practices) p ON p.i = n % \(practices)
            """,
            """
            INSERT INTO subscribers (practice_id, payer_id, member_id, group_number, first_name, last_name, birth_date, sex,
                                     address_line1, city, state, postal_code)
            SELECT pt.practice_id, py.id, 'W' || (100000000 + substr(pt.mrn, 4)::int), 'G' || (1000 + substr(pt.mrn, 4)::int % 9000),
                   pt.first_name, pt.last_name, pt.birth_date, pt.sex, pt.address_line1, pt.city, pt.state, pt.postal_code
            FROM patients pt
            JOIN (SELECT id, row_number() OVER (ORDER BY payer_code) - 1 AS i FROM payers) py
              ON py.i = substr(pt.mrn, 4)::int % \(Self.payers.count)
            """,
            // Dates of service in the last four weeks: inside every payer's filing limit, and
            // inside the ICD-10-CM release the bench imports.
            """
            INSERT INTO encounters (practice_id, external_id, patient_id, subscriber_id, patient_relationship, payer_id,
                                    rendering_provider_id, date_of_service, place_of_service, specialty, priority, stage,
                                    documentation, coded_by)
            SELECT pt.practice_id, 'E' || n, pt.id, s.id, '18', s.payer_id, v.id, current_date - (n % 28),
                   CASE WHEN n % 10 = 0 THEN '02' ELSE '11' END, (\(specialties)::text[])[1 + n % 3],
                   CASE WHEN n % 8 = 0 THEN 50 ELSE 0 END, x.stage, (\(notes)::text[])[1 + n % 3],
                   CASE WHEN x.stage IN ('coded', 'ready_to_bill', 'closed')
                        THEN (SELECT id FROM users WHERE username = 'bench-coder') END
            FROM generate_series(1, \(total)::int) AS n
            CROSS JOIN LATERAL (SELECT CASE WHEN n <= \(codingEnd) THEN 'ready_to_code'
                                            WHEN n <= \(codedEnd) THEN 'coded'
                                            WHEN n <= \(billingEnd) THEN 'ready_to_bill'
                                            WHEN n <= \(receivedEnd) THEN 'received'
                                            ELSE 'closed' END AS stage) x
            JOIN patients pt ON pt.mrn = 'MRN' || (1 + n % \(patients))
            JOIN subscribers s ON s.practice_id = pt.practice_id AND s.member_id = 'W' || (100000000 + 1 + n % \(patients))
            JOIN providers v ON v.practice_id = pt.practice_id AND v.taxonomy = (\(taxonomies)::text[])[1 + n % 3]
            """,
        ]
        for (specialty, _, codes) in Self.codeSets {
            for (index, code) in codes.diagnoses.enumerated() {
                statements.append(
                    """
                    INSERT INTO diagnoses (encounter_id, version, position, code)
                    SELECT id, 1, \(index + 1), \(code) FROM encounters
                    WHERE specialty = \(specialty) AND stage IN ('coded', 'ready_to_bill')
                    """
                )
            }
            for (index, line) in codes.lines.enumerated() {
                statements.append(
                    """
                    INSERT INTO service_lines (encounter_id, version, line_number, code, modifiers, units, charge, pointers)
                    SELECT id, 1, \(index + 1), \(line.code), \(line.modifiers)::text[], \("\(line.units)")::numeric,
                           \("\(line.charge)")::numeric, \(line.pointers.map(Int16.init))::smallint[]
                    FROM encounters WHERE specialty = \(specialty) AND stage IN ('coded', 'ready_to_bill')
                    """
                )
            }
        }
        statements += [
            // Claim version 1 of each encounter waiting for billing; its snapshot is taken by
            // the claims table's trigger, as at a handoff.
            """
            INSERT INTO claims (encounter_id, version, coding_version, total_charge, coded_by)
            SELECT e.id, 1, 1, (SELECT sum(charge) FROM service_lines l WHERE l.encounter_id = e.id AND l.version = 1),
                   e.coded_by
            FROM encounters e WHERE e.stage = 'ready_to_bill'
            """,
            """
            INSERT INTO work_items (encounter_id, queue, practice_id, required_skill, priority, waiting_stage, enqueued_at,
                                    date_of_service, filing_deadline, charges)
            SELECT e.id, CASE e.stage WHEN 'ready_to_bill' THEN 'billing' ELSE 'coding' END, e.practice_id,
                   CASE e.stage WHEN 'ready_to_code' THEN e.specialty END, e.priority, e.stage,
                   now() - interval '20 days' + (row_number() OVER (ORDER BY e.external_id)) * interval '1 ms',
                   e.date_of_service, e.date_of_service + p.filing_limit_days,
                   coalesce((SELECT total_charge FROM claims c WHERE c.encounter_id = e.id), 0)
            FROM encounters e JOIN payers p ON p.id = e.payer_id WHERE e.stage IN ('ready_to_code', 'ready_to_bill')
            """,
            "ANALYZE",
        ]
        // One transaction: a seed that fails leaves the scratch database empty, to be seeded again.
        let batch = statements
        try await client.transaction(logger: logger) { connection in
            for statement in batch {
                try await connection.query(statement, logger: logger)
            }
        }
    }

    /// Puts every `received` encounter in the coding queue at once, as a large delivery from
    /// the clinic would; returns how many. Their stage moves through the transition trigger.
    @discardableResult
    public func queueReceived() async throws -> Int {
        let queued = try await database.count(
            """
            WITH moved AS (
                UPDATE encounters SET stage = 'ready_to_code', updated_at = now() WHERE stage = 'received'
                RETURNING id, practice_id, specialty, priority, date_of_service, payer_id
            ), queued AS (
                INSERT INTO work_items (encounter_id, queue, practice_id, required_skill, priority, waiting_stage,
                                        date_of_service, filing_deadline)
                SELECT m.id, 'coding', m.practice_id, m.specialty, m.priority, 'ready_to_code', m.date_of_service,
                       m.date_of_service + p.filing_limit_days
                FROM moved m JOIN payers p ON p.id = m.payer_id
                RETURNING 1
            )
            SELECT count(*)::int FROM queued
            """
        )
        try await client.query("ANALYZE", logger: logger)
        return queued
    }

    /// How many encounters are in each stage.
    public func stageCounts() async throws -> [String: Int] {
        let rows = try await client.query("SELECT stage, count(*)::int FROM encounters GROUP BY stage", logger: logger)
        var counts: [String: Int] = [:]
        for try await (stage, count) in rows.decode((String, Int).self) { counts[stage] = count }
        return counts
    }

    /// The payer codes and the rendering providers' NPIs of a practice, for intake lines.
    public func intakeReferences(practiceCode: String) async throws -> (payerCodes: [String], providerNPIs: [String]) {
        var payerCodes: [String] = []
        for try await code in try await client.query("SELECT payer_code FROM payers ORDER BY payer_code", logger: logger)
            .decode(String.self)
        {
            payerCodes.append(code)
        }
        var npis: [String] = []
        let rows = try await client.query(
            """
            SELECT v.npi FROM providers v JOIN practices p ON p.id = v.practice_id
            WHERE p.code = \(practiceCode) ORDER BY v.taxonomy
            """,
            logger: logger
        )
        for try await npi in rows.decode(String.self) { npis.append(npi) }
        return (payerCodes, npis)
    }
}

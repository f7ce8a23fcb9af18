import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import PostgresNIO
import Testing

@Suite("Database error text stays inside")
struct DatabaseErrorTests {
    /// A patient for one forced failure; every value is searched for afterwards.
    struct Case: Sendable {
        let name: String
        let sqlState: String
        let externalID: String
        let mrn: String
        let firstName: String
        let lastName: String
        let birthDate: String
        let memberID: String

        var values: [String] { [firstName, lastName, birthDate, birthDate.replacingOccurrences(of: "-", with: ""), mrn, memberID] }

        var intake: [String: Any] {
            [
                "practice_code": "TEST", "external_id": externalID,
                "patient": [
                    "mrn": mrn, "first_name": firstName, "last_name": lastName, "birth_date": birthDate, "sex": "F",
                ],
                "coverage": ["payer_code": "PAYTEST", "member_id": memberID, "relationship": "18"],
                "rendering_provider_npi": "1234567893", "date_of_service": "2026-11-02", "place_of_service": "11",
                "specialty": "family_medicine", "documentation": "Follow-up visit.",
            ]
        }
    }

    static let cases = [
        // The unique index below: the detail quotes the key, "Key (last_name)=(Vexlerquist) already exists."
        Case(
            name: "unique violation", sqlState: "23505", externalID: "ERR-1", mrn: "MRN-VX-3141", firstName: "Cassiopeia",
            lastName: "Vexlerquist", birthDate: "1961-04-22", memberID: "VXM4471"),
        // The check below (a 13-letter first name): the detail quotes the whole failing row.
        Case(
            name: "check violation", sqlState: "23514", externalID: "ERR-2", mrn: "MRN-PD-2718", firstName: "Philippa-Drax",
            lastName: "Ossory-Vantablack", birthDate: "1948-12-05", memberID: "PDM8812"),
        // The trigger below: the message itself quotes the values, as PostgreSQL's own
        // "invalid input syntax" messages do.
        Case(
            name: "message quoting the row", sqlState: "22P02", externalID: "ERR-3", mrn: "MRN-TR-1618", firstName: "Thessaly",
            lastName: "Quarrington", birthDate: "1972-09-30", memberID: "TRIP55501"),
    ]

    @Test(
        "database errors forced through `claimflow serve` (unique, check, a message quoting values) reply problem+json and log neither the row nor its values"
    )
    func errorsStayInside() async throws {
        let (url, environment) = try await CLIDatabase.migrated(prefix: "cf_dberr")
        defer { Task { try? await TestDatabase.drop(url) } }
        let token = try await TestDatabase.withClient(url) { client in
            let fixture = try await Fixture.make(client)
            let id = try await fixture.user("intake", roles: [.intake])
            return try await fixture.users.issueToken(userID: id, label: "t", audit: .system)
        }
        // A first patient holds the last name the unique index then refuses.
        let holder = Case(
            name: "holder", sqlState: "", externalID: "ERR-0", mrn: "MRN-VX-0001", firstName: "Ann", lastName: "Vexlerquist",
            birthDate: "1990-01-01", memberID: "VXM0001")
        for statement: PostgresQuery in [
            "CREATE UNIQUE INDEX patients_one_per_last_name ON patients (last_name)",
            "ALTER TABLE patients ADD CONSTRAINT patients_not_thirteen CHECK (length(first_name) <> 13) NOT VALID",
            """
            CREATE FUNCTION refuse_trip_members() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.member_id LIKE 'TRIP%' THEN
                    RAISE EXCEPTION USING ERRCODE = '22P02',
                        MESSAGE = format('invalid input syntax for member "%s" of "%s %s" born "%s"',
                                         NEW.member_id, NEW.first_name, NEW.last_name, NEW.birth_date);
                END IF;
                RETURN NEW;
            END $$
            """,
            "CREATE TRIGGER subscribers_refuse_trip BEFORE INSERT ON subscribers FOR EACH ROW EXECUTE FUNCTION refuse_trip_members()",
        ] {
            try await CLIDatabase.execute(url, statement)
        }

        let (replies, outcome) = try await ServedClaimFlow.run(["--log-level", "debug"], environment: environment) { server in
            try await server.withAPI { api in
                #expect(try await api.send(.post, "/api/v1/encounters", token: token, json: holder.intake).status == 201)
                var replies: [APIClient.Reply] = []
                for forced in Self.cases {
                    replies.append(try await api.send(.post, "/api/v1/encounters", token: token, json: forced.intake))
                }
                return replies
            }
        }
        let log = outcome.standardError + outcome.standardOutput

        for (forced, reply) in zip(Self.cases, replies) {
            #expect(reply.status == 500, "\(forced.name): \(reply.body)")
            #expect(reply.contentType?.hasPrefix("application/problem+json") == true, "\(forced.name): \(reply.contentType ?? "none")")
            #expect(reply.json["status"] as? Int == 500 && reply.json["detail"] is String, "\(forced.name): \(reply.body)")
            for value in forced.values {
                #expect(!reply.body.localizedCaseInsensitiveContains(value), "\(forced.name): the reply quotes \(value): \(reply.body)")
                let lines = LogLines.lines(of: log, containing: value)
                #expect(lines.isEmpty, "\(forced.name): the log quotes \(value): \(lines.prefix(3))")
            }
            for databaseText in ["Key (", "Failing row", "already exists", "violates", "sqlstate", forced.sqlState] {
                #expect(!reply.body.localizedCaseInsensitiveContains(databaseText), "\(forced.name): \(reply.body)")
            }
            // The failure itself is on record, by its code.
            let failures = LogLines.lines(log).filter { $0.contains("request failed") && $0.contains("sqlstate \(forced.sqlState)") }
            #expect(failures.count == 1, "\(forced.name): one error line names sqlstate \(forced.sqlState)")
        }
        #expect(
            LogLines.lines(of: log, containing: holder.lastName).isEmpty, "the holder's name is not logged either")
    }
}

public import ClaimFlowCore
public import Foundation
public import Logging
public import PostgresNIO

/// Practices, their rendering providers, and payers: the reference data a claim is built on.
public struct PracticeStore: Sendable {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Creates a practice, or returns the id of the one with the same code.
    public func upsert(_ practice: Practice) async throws -> UUID {
        let address = practice.address
        let rows = try await client.query(
            """
            INSERT INTO practices (code, name, npi, tax_id, taxonomy, address_line1, address_line2, city, state,
                                   postal_code, segregate_duties)
            VALUES (\(practice.code), \(practice.name), \(practice.npi), \(practice.taxID), \(practice.taxonomy),
                    \(address.line1), \(address.line2), \(address.city), \(address.state), \(address.postalCode),
                    \(practice.segregateDuties))
            ON CONFLICT (code) DO UPDATE SET code = EXCLUDED.code
            RETURNING id
            """,
            logger: logger
        )
        for try await id in rows.decode(UUID.self) { return id }
        throw StoreError(.conflict, "practice \(practice.code) was not saved")
    }

    /// The id of the practice with this code.
    public func id(forCode code: String) async throws -> UUID? {
        let rows = try await client.query("SELECT id FROM practices WHERE code = \(code)", logger: logger)
        for try await id in rows.decode(UUID.self) { return id }
        return nil
    }

    /// Creates a rendering provider, or returns the id of the practice's provider with that NPI.
    public func upsert(_ provider: Provider) async throws -> UUID {
        let rows = try await client.query(
            """
            INSERT INTO providers (practice_id, npi, first_name, last_name, taxonomy)
            VALUES (\(provider.practiceID), \(provider.npi), \(provider.firstName), \(provider.lastName),
                    \(provider.taxonomy))
            ON CONFLICT (practice_id, npi) DO UPDATE SET npi = EXCLUDED.npi
            RETURNING id
            """,
            logger: logger
        )
        for try await id in rows.decode(UUID.self) { return id }
        throw StoreError(.conflict, "provider was not saved")
    }

    /// Creates a payer, or returns the id of the payer with that payer code.
    public func upsert(_ payer: Payer) async throws -> UUID {
        let rows = try await client.query(
            """
            INSERT INTO payers (payer_code, name, filing_limit_days)
            VALUES (\(payer.payerCode), \(payer.name), \(payer.filingLimitDays))
            ON CONFLICT (payer_code) DO UPDATE SET payer_code = EXCLUDED.payer_code
            RETURNING id
            """,
            logger: logger
        )
        for try await id in rows.decode(UUID.self) { return id }
        throw StoreError(.conflict, "payer \(payer.payerCode) was not saved")
    }
}

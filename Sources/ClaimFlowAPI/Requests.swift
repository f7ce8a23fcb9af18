import ClaimFlowCore
import ClaimFlowStore
import Foundation

// The request bodies of every route, each with the schema `openapi.yaml` states for it.
// Names match the document's component schemas.

/// The JSON request body of each operation, by `METHOD /path` as the document writes it: the
/// contract test compares each schema with the document's, keyword by keyword.
enum RequestBodies {
    static let byOperation: [String: any RequestBody.Type] = [
        "POST /api/v1/encounters": EncounterIntakeRequest.self,
        "PUT /api/v1/coder/encounters/{id}/codes": SaveCodesRequest.self,
        "POST /api/v1/coder/encounters/{id}/complete": LeaseRequest.self,
        "POST /api/v1/coder/encounters/{id}/query": ProviderQueryRequest.self,
        "POST /api/v1/coder/encounters/{id}/release": CoderReleaseRequest.self,
        "POST /api/v1/coder/encounters/{id}/heartbeat": LeaseRequest.self,
        "POST /api/v1/encounters/{id}/answer": QueryAnswerRequest.self,
        "POST /api/v1/biller/claims/{id}/submit": LeaseRequest.self,
        "POST /api/v1/biller/claims/{id}/return": ReturnClaimRequest.self,
        "POST /api/v1/biller/exceptions/{id}/resolve": ResolveExceptionRequest.self,
        "POST /api/v1/supervisor/work/{id}/reassign": ReassignRequest.self,
        "POST /api/v1/supervisor/work/{id}/release": SupervisorReleaseRequest.self,
        "POST /api/v1/supervisor/work/{id}/priority": PriorityRequest.self,
        "POST /api/v1/admin/users": CreateUserRequest.self,
        "POST /api/v1/admin/users/{id}/tokens": IssueTokenRequest.self,
        "POST /api/v1/admin/practices": CreatePracticeRequest.self,
        "POST /api/v1/admin/practices/{code}/providers": CreateProviderRequest.self,
        "PUT /api/v1/admin/practices/{code}/lease-cap": LeaseCapRequest.self,
        "POST /api/v1/admin/payers": CreatePayerRequest.self,
    ]
}

// MARK: Intake

struct PostalAddressInput: RequestBody {
    let line1: String
    let line2: String?
    let city: String
    let state: String
    let postalCode: String
    enum CodingKeys: String, CodingKey { case line1, line2, city, state, postalCode = "postal_code" }

    static let schema = JSONSchema.object([
        .required("line1", .text(55)), .optional("line2", .text(55)), .required("city", .text(30)),
        .required("state", .matching("[A-Z]{2}", "a two-letter state code")),
        .required("postal_code", .matching("[0-9]{5}([0-9]{4})?", "a 5 or 9 digit ZIP code")),
    ])

    var address: PostalAddress { PostalAddress(line1: line1, line2: line2, city: city, state: state, postalCode: postalCode) }
}

/// A billing provider's address (837P loop 2010AA): a street address, never a PO box, with a
/// 9-digit ZIP+4 code. The box rule is not a pattern; ``findings`` checks it with the ZIP.
struct BillingAddressInput: RequestBody {
    let line1: String
    let line2: String?
    let city: String
    let state: String
    let postalCode: String
    enum CodingKeys: String, CodingKey { case line1, line2, city, state, postalCode = "postal_code" }

    static let schema = JSONSchema.object([
        .required("line1", .text(55)), .optional("line2", .text(55)), .required("city", .text(30)),
        .required("state", .matching("[A-Z]{2}", "a two-letter state code")),
        .required("postal_code", .matching("[0-9]{9}", "a 9-digit ZIP+4 code")),
    ])

    var address: PostalAddress { PostalAddress(line1: line1, line2: line2, city: city, state: state, postalCode: postalCode) }

    /// Core's billing provider rules, as findings under `path`.
    func findings(at path: String) -> [ProblemDetails.Finding] {
        address.billingProviderFindings.map { .init(path: "\(path).\($0.fieldName)", message: $0.message) }
    }
}

struct PersonInput: RequestBody {
    let firstName: String
    let lastName: String
    let birthDate: CalendarDate
    let sex: Sex
    let address: PostalAddressInput?
    enum CodingKeys: String, CodingKey {
        case firstName = "first_name", lastName = "last_name", birthDate = "birth_date", sex, address
    }

    static let properties: [JSONSchema.Property] = [
        .required("first_name", .text(35)), .required("last_name", .text(60)), .required("birth_date", .date),
        .required("sex", .oneOf(Sex.allCases.map(\.rawValue), "F, M or U")),
        .optional("address", PostalAddressInput.schema),
    ]
    static let schema = JSONSchema.object(properties)

    var person: Person { Person(firstName: firstName, lastName: lastName, birthDate: birthDate, sex: sex, address: address?.address) }
}

struct PatientInput: Decodable, Sendable {
    let mrn: String
    let person: PersonInput

    enum CodingKeys: String, CodingKey { case mrn }

    init(from decoder: any Decoder) throws {
        mrn = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .mrn)
        person = try PersonInput(from: decoder)
    }

    static let schema = JSONSchema.object([.required("mrn", .text(50))] + PersonInput.properties)
}

struct CoverageInput: Decodable, Sendable {
    let payerCode: String
    let memberID: String
    let groupNumber: String?
    let relationship: String?
    let subscriber: PersonInput?
    enum CodingKeys: String, CodingKey {
        case payerCode = "payer_code", memberID = "member_id", groupNumber = "group_number", relationship, subscriber
    }

    static let schema = JSONSchema.object([
        .required("payer_code", .matching("[A-Za-z0-9]{2,80}", "2-80 letters or digits")),
        .required("member_id", .matching("[A-Za-z0-9-]{2,80}", "2-80 letters, digits or dashes")),
        .optional("group_number", .text(50)),
        .optional("relationship", .oneOf(PatientRelationship.codes, "an X12 relationship code: \(PatientRelationship.summary)")),
        .optional("subscriber", PersonInput.schema),
    ])

    var relationshipCode: String { relationship ?? PatientRelationship.subscriberSelf }
}

/// A clinician named by NPI: the referring provider (837P loop 2310A).
struct ClinicianInput: RequestBody {
    let npi: String
    let firstName: String
    let lastName: String
    enum CodingKeys: String, CodingKey { case npi, firstName = "first_name", lastName = "last_name" }

    static let schema = JSONSchema.object([
        .required("npi", .npi), .required("first_name", .text(35)), .required("last_name", .text(60)),
    ])
}

/// Where the services were given, when not at the practice (837P loop 2310C).
struct ServiceFacilityInput: RequestBody {
    let name: String
    let npi: String?
    let address: PostalAddressInput

    static let schema = JSONSchema.object([
        .required("name", .text(60)), .optional("npi", .npi), .required("address", PostalAddressInput.schema),
    ])
}

struct EncounterIntakeRequest: RequestBody {
    let practiceCode: String
    let externalID: String
    let patient: PatientInput
    let coverage: CoverageInput
    let renderingProviderNPI: String
    let dateOfService: CalendarDate
    let placeOfService: String
    let specialty: String
    let priority: Int?
    let documentation: String
    let referringProvider: ClinicianInput?
    let serviceFacility: ServiceFacilityInput?
    let priorAuthorization: String?
    let referralNumber: String?
    let relatedCauses: [String]?
    let accidentState: String?
    let accidentDate: CalendarDate?
    let onsetDate: CalendarDate?
    let initialTreatmentDate: CalendarDate?
    let lastSeenDate: CalendarDate?
    enum CodingKeys: String, CodingKey {
        case practiceCode = "practice_code", externalID = "external_id", patient, coverage
        case renderingProviderNPI = "rendering_provider_npi", dateOfService = "date_of_service"
        case placeOfService = "place_of_service", specialty, priority, documentation
        case referringProvider = "referring_provider", serviceFacility = "service_facility"
        case priorAuthorization = "prior_authorization", referralNumber = "referral_number"
        case relatedCauses = "related_causes", accidentState = "accident_state", accidentDate = "accident_date"
        case onsetDate = "onset_date", initialTreatmentDate = "initial_treatment_date", lastSeenDate = "last_seen_date"
    }

    static let schema = JSONSchema.object([
        .required("practice_code", .practiceCode), .required("external_id", .text(80)),
        .required("patient", PatientInput.schema), .required("coverage", CoverageInput.schema),
        .required("rendering_provider_npi", .npi), .required("date_of_service", .date),
        .required("place_of_service", .matching("[0-9]{2}", "two digits, such as 11")),
        .required("specialty", .specialty), .optional("priority", .integer(0...100)),
        .required("documentation", .text(100_000)),
        .optional("referring_provider", ClinicianInput.schema), .optional("service_facility", ServiceFacilityInput.schema),
        .optional("prior_authorization", .matching("[A-Za-z0-9-]{1,50}", "1-50 letters, digits or dashes")),
        .optional("referral_number", .matching("[A-Za-z0-9-]{1,50}", "1-50 letters, digits or dashes")),
        .optional(
            "related_causes",
            .array(of: .oneOf(["AA", "EM", "OA"], "AA auto accident, EM employment or OA other accident"), count: 1...2)),
        .optional("accident_state", .matching("[A-Z]{2}", "a two-letter state code")),
        .optional("accident_date", .date), .optional("onset_date", .date), .optional("initial_treatment_date", .date),
        .optional("last_seen_date", .date),
    ])

    func findings() -> [ProblemDetails.Finding] {
        var findings: [ProblemDetails.Finding] = []
        if coverage.relationshipCode != PatientRelationship.subscriberSelf, coverage.subscriber == nil {
            findings.append(.init(path: "$.coverage.subscriber", message: "is required unless relationship is 18 (self)"))
        }
        let causes = relatedCauses ?? []
        if (causes.contains("AA") || causes.contains("OA")) && accidentDate == nil {
            findings.append(.init(path: "$.accident_date", message: "is required with an auto (AA) or other (OA) accident"))
        }
        if causes.contains("AA") && accidentState == nil {
            findings.append(.init(path: "$.accident_state", message: "is required with an auto accident (AA)"))
        }
        return findings
    }

    /// The claim's details, or nil when the body carries none.
    var claimDetails: X12Claim.Details? {
        let details = X12Claim.Details(
            referringProvider: referringProvider.map { .init(npi: $0.npi, firstName: $0.firstName, lastName: $0.lastName) },
            serviceFacility: serviceFacility.map { .init(name: $0.name, npi: $0.npi, address: $0.address.address) },
            // A cause sent twice means it once.
            priorAuthorization: priorAuthorization, referralNumber: referralNumber,
            relatedCauses: (relatedCauses ?? []).reduce(into: []) { if !$0.contains($1) { $0.append($1) } },
            accidentState: (relatedCauses ?? []).contains("AA") ? accidentState : nil, accidentDate: accidentDate,
            onsetDate: onsetDate, initialTreatmentDate: initialTreatmentDate, lastSeenDate: lastSeenDate)
        return details == X12Claim.Details() ? nil : details
    }
}

extension JSONSchema {
    /// A specialty, which is also a coder's skill, such as `family_medicine`.
    static let specialty = matching("[a-z][a-z0-9_]{1,40}", "a specialty name such as family_medicine")
}

// MARK: Coder

/// The drug given on a line: its NDC, the unit and the quantity (837P loop 2410).
struct DrugInput: Decodable, Sendable {
    let ndc: String
    let unit: String
    let quantity: String

    static let schema = JSONSchema.object([
        .required("ndc", .matching("[0-9]{5}-?[0-9]{4}-?[0-9]{2}", "an 11-digit NDC in 5-4-2 form, such as 00409-4888-20")),
        .required("unit", .oneOf(DrugIdentification.units.sorted(), "F2, GR, ME, ML or UN")),
        // More than zero: a whole number without leading zeros, or a fraction with a digit that is not 0.
        .required(
            "quantity",
            .matching(
                "([1-9][0-9]{0,8}(\\.[0-9]{1,3})?|0\\.([1-9][0-9]{0,2}|0[1-9][0-9]?|00[1-9]))", "a quantity more than 0, such as \"1.5\"")),
    ])

    var drug: DrugIdentification {
        DrugIdentification(
            ndc: ndc.filter(\.isNumber), unit: unit, quantity: Decimal(string: quantity, locale: Locale(identifier: "en_US_POSIX")) ?? 0)
    }
}

struct ServiceLineInput: Decodable, Sendable {
    let code: String
    let modifiers: [String]?
    let units: Int
    let charge: String
    let pointers: [Int]
    let anesthesiaMinutes: Int?
    let drug: DrugInput?
    enum CodingKeys: String, CodingKey { case code, modifiers, units, charge, pointers, anesthesiaMinutes = "anesthesia_minutes", drug }

    static let schema = JSONSchema.object([
        .required(
            "code",
            .matching(
                "([0-9]{5}|[0-9]{4}[FTU]|[A-Z][0-9]{4})",
                "a CPT (5 digits, or 4 digits and F, T or U) or HCPCS Level II (letter and 4 digits) code")
        ),
        .optional("modifiers", .array(of: .matching("[A-Z0-9]{2}", "a two-character modifier such as 25 or XS"), count: 0...4)),
        .required("units", .integer(1...9_999)),
        .required("charge", .matching("[0-9]{1,7}(\\.[0-9]{1,2})?", "an amount such as \"125.00\"")),
        .required("pointers", .array(of: .integer(1...12), count: 1...4)),
        .optional("anesthesia_minutes", .integer(1...1440)), .optional("drug", DrugInput.schema),
    ])

    var line: ServiceLine {
        ServiceLine(
            code: code, modifiers: modifiers ?? [], units: Decimal(units),
            // The schema's pattern admits only amounts Decimal reads exactly.
            charge: Decimal(string: charge, locale: Locale(identifier: "en_US_POSIX")) ?? 0, pointers: pointers,
            anesthesiaMinutes: anesthesiaMinutes, drug: drug?.drug
        )
    }
}

struct SaveCodesRequest: RequestBody {
    let leaseID: UUID
    let diagnoses: [String]
    let lines: [ServiceLineInput]
    enum CodingKeys: String, CodingKey { case leaseID = "lease_id", diagnoses, lines }

    static let schema = JSONSchema.object([
        .required("lease_id", .uuid),
        .required(
            "diagnoses",
            .array(
                of: .string(
                    .init(
                        pattern: "^[A-Za-z][0-9][A-Za-z0-9]\\.?[A-Za-z0-9]{0,4}$", expected: "an ICD-10-CM code such as E11.9 or E119",
                        check: { CodeFormat.normalizedDiagnosis($0) != nil })),
                count: 0...12)
        ),
        .required("lines", .array(of: ServiceLineInput.schema, count: 0...50)),
    ])

    /// Diagnoses without their dots, as they are stored.
    var codes: CodeAssignment {
        CodeAssignment(diagnoses: diagnoses.compactMap(CodeFormat.normalizedDiagnosis), lines: lines.map(\.line))
    }
}

struct ProviderQueryRequest: RequestBody {
    let leaseID: UUID
    let question: String
    enum CodingKeys: String, CodingKey { case leaseID = "lease_id", question }
    static let schema = JSONSchema.object([.required("lease_id", .uuid), .required("question", .text(4000))])
}

struct CoderReleaseRequest: RequestBody {
    let leaseID: UUID
    let reason: String?
    enum CodingKeys: String, CodingKey { case leaseID = "lease_id", reason }
    static let schema = JSONSchema.object([.required("lease_id", .uuid), .optional("reason", .reason)])
}

struct QueryAnswerRequest: RequestBody {
    let answer: String
    static let schema = JSONSchema.object([.required("answer", .text(4000))])
}

// MARK: Biller

struct ReturnClaimRequest: RequestBody {
    let leaseID: UUID
    let reason: String
    enum CodingKeys: String, CodingKey { case leaseID = "lease_id", reason }
    static let schema = JSONSchema.object([.required("lease_id", .uuid), .required("reason", .reason)])
}

/// How a biller settled a remittance exception: posted by hand, written off, taken up with
/// the payer.
struct ResolveExceptionRequest: RequestBody {
    let resolution: String
    static let schema = JSONSchema.object([.required("resolution", .reason)])
}

// MARK: Supervisor

struct ReassignRequest: RequestBody {
    let toUser: UUID
    let reason: String
    enum CodingKeys: String, CodingKey { case toUser = "to_user", reason }
    static let schema = JSONSchema.object([.required("to_user", .uuid), .required("reason", .reason)])
}

struct SupervisorReleaseRequest: RequestBody {
    let reason: String
    static let schema = JSONSchema.object([.required("reason", .reason)])
}

struct PriorityRequest: RequestBody {
    let priority: Int
    let reason: String
    static let schema = JSONSchema.object([.required("priority", .integer(0...100)), .required("reason", .reason)])
}

// MARK: Admin

struct CreateUserRequest: RequestBody {
    let username: String
    let displayName: String
    let roles: [Role]
    let practices: [String]
    let skills: [String]?
    let active: Bool?
    enum CodingKeys: String, CodingKey { case username, displayName = "display_name", roles, practices, skills, active }

    static let schema = JSONSchema.object([
        .required("username", .matching("[a-z0-9][a-z0-9._-]{1,62}", "2-63 lower-case letters, digits, dots, dashes")),
        .required("display_name", .text(200)),
        .required("roles", .array(of: .oneOf(Role.allCases.map(\.rawValue), "a role"), count: 0...5)),
        .required("practices", .array(of: .practiceCode, count: 0...100)),
        .optional("skills", .array(of: .specialty, count: 0...50)),
        .optional("active", .boolean),
    ])
}

/// The fair-share cap of a practice: live leases of one queue a person may hold there at once.
struct LeaseCapRequest: RequestBody {
    let leaseCap: Int
    enum CodingKeys: String, CodingKey { case leaseCap = "lease_cap" }
    static let schema = JSONSchema.object([.required("lease_cap", .integer(1...1000))])
}

struct IssueTokenRequest: RequestBody {
    let label: String?
    let expiresInDays: Int?
    enum CodingKeys: String, CodingKey { case label, expiresInDays = "expires_in_days" }
    static let schema = JSONSchema.object([.optional("label", .text(200)), .optional("expires_in_days", .integer(1...3650))])
}

extension JSONSchema {
    static let taxonomy = matching("[0-9A-Z]{9}X", "a 10-character taxonomy code")
}

struct CreatePracticeRequest: RequestBody {
    let code: String
    let name: String
    let npi: String
    let taxID: String
    let taxonomy: String
    let address: BillingAddressInput
    let segregateDuties: Bool?
    let individual: IndividualInput?
    enum CodingKeys: String, CodingKey {
        case code, name, npi, taxID = "tax_id", taxonomy, address, segregateDuties = "segregate_duties", individual
    }

    /// The person, when the billing provider is a solo practitioner (2010AA NM102 = 1).
    struct IndividualInput: Decodable, Sendable {
        let firstName: String
        let lastName: String
        enum CodingKeys: String, CodingKey { case firstName = "first_name", lastName = "last_name" }

        static let schema = JSONSchema.object([.required("first_name", .text(35)), .required("last_name", .text(60))])
    }

    static let schema = JSONSchema.object([
        .required("code", .matching("[A-Z0-9_-]{2,20}", "2-20 upper-case letters, digits, _ or -")),
        .required("name", .text(200)), .required("npi", .npi),
        .required("tax_id", .matching("[0-9]{9}", "9 digits")), .required("taxonomy", .taxonomy),
        .required("address", BillingAddressInput.schema), .optional("segregate_duties", .boolean),
        .optional("individual", IndividualInput.schema),
    ])
}

struct CreateProviderRequest: RequestBody {
    let npi: String
    let firstName: String
    let lastName: String
    let taxonomy: String?
    enum CodingKeys: String, CodingKey { case npi, firstName = "first_name", lastName = "last_name", taxonomy }

    static let schema = JSONSchema.object([
        .required("npi", .npi), .required("first_name", .text(35)), .required("last_name", .text(60)),
        .optional("taxonomy", .taxonomy),
    ])
}

struct CreatePayerRequest: RequestBody {
    let payerCode: String
    let name: String
    let filingLimitDays: Int?
    let claimFilingIndicator: String?
    let acceptsCorrections: Bool?
    let correctedFilingLimitDays: Int?
    enum CodingKeys: String, CodingKey {
        case payerCode = "payer_code", name, filingLimitDays = "filing_limit_days"
        case claimFilingIndicator = "claim_filing_indicator", acceptsCorrections = "accepts_corrections"
        case correctedFilingLimitDays = "corrected_filing_limit_days"
    }

    static let schema = JSONSchema.object([
        .required("payer_code", .matching("[A-Za-z0-9]{2,80}", "2-80 letters or digits")),
        .required("name", .text(60)), .optional("filing_limit_days", .integer(1...3650)),
        .optional(
            "claim_filing_indicator", .oneOf(X12Writer.claimFilingIndicators, "an X12 claim filing indicator code (SBR09)")),
        .optional("accepts_corrections", .boolean), .optional("corrected_filing_limit_days", .integer(1...3650)),
    ])

    var change: PayerChange {
        PayerChange(
            payerCode: payerCode, name: name, filingLimitDays: filingLimitDays, claimFilingIndicator: claimFilingIndicator,
            acceptsCorrections: acceptsCorrections, correctedFilingLimitDays: correctedFilingLimitDays
        )
    }
}

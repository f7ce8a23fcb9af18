import ClaimFlowCore
import ClaimFlowStore
import Foundation
import Logging
import PostgresNIO

/// Seeds the demo practice: payers, providers, one user per role, and encounters with
/// made-up but realistic patients and notes. Running it again adds nothing but new tokens.
struct DemoSeeder {
    let client: PostgresClient
    let logger: Logger
    let queue: WorkQueue

    struct SeededUser {
        let username: String
        let roles: String
        let token: String
    }

    struct Result {
        let users: [SeededUser]
        let encounterCount: Int
        let created: Int
    }

    static let specialties = ["family_medicine", "cardiology", "orthopedics"]

    func seed(encounters: Int) async throws -> Result {
        let practices = PracticeStore(client: client, logger: logger)
        let users = UserStore(client: client, logger: logger)
        let practiceID = try await practices.upsert(
            Practice(
                code: "DEMO",
                name: "Riverside Family Clinic",
                npi: NPI.withCheckDigit(firstNine: "123456789")!.digits,
                taxID: "741852963",
                taxonomy: "207Q00000X",
                address: PostalAddress(line1: "100 Main Street", city: "Springfield", state: "IL", postalCode: "627011234")
            ),
            audit: .system
        )
        let payerIDs = [
            try await practices.upsert(
                Payer(payerCode: "DEMOMCR", name: "Demo Medicare", filingLimitDays: 365, claimFilingIndicator: "MB"), audit: .system),
            try await practices.upsert(
                Payer(payerCode: "DEMOBCBS", name: "Demo Blue Cross", filingLimitDays: 180, claimFilingIndicator: "BL"), audit: .system),
            try await practices.upsert(Payer(payerCode: "DEMOAET", name: "Demo Aetna", filingLimitDays: 90), audit: .system),
        ]
        let providerIDs = [
            try await practices.upsert(
                Provider(
                    practiceID: practiceID, npi: NPI.withCheckDigit(firstNine: "198765432")!.digits,
                    firstName: "Maria", lastName: "Alvarez", taxonomy: "207Q00000X"), audit: .system),
            try await practices.upsert(
                Provider(
                    practiceID: practiceID, npi: NPI.withCheckDigit(firstNine: "176543210")!.digits,
                    firstName: "James", lastName: "Okafor", taxonomy: "207RC0000X"), audit: .system),
            try await practices.upsert(
                Provider(
                    practiceID: practiceID, npi: NPI.withCheckDigit(firstNine: "154321098")!.digits,
                    firstName: "Linda", lastName: "Chen", taxonomy: "207X00000X"), audit: .system),
        ]

        let demoUsers: [(String, String, Set<Role>)] = [
            ("intake", "Front Desk", [.intake]),
            ("coder", "Casey Coder", [.coder]),
            ("coder2", "Robin Coder", [.coder]),
            ("biller", "Billie Biller", [.biller]),
            ("supervisor", "Sam Supervisor", [.supervisor]),
            ("admin", "Alex Admin", [.admin]),
        ]
        var seededUsers: [SeededUser] = []
        for (username, displayName, roles) in demoUsers {
            let userID = try await users.upsert(
                User(
                    username: username,
                    displayName: displayName,
                    roles: roles,
                    practiceIDs: [practiceID],
                    skills: roles.contains(.coder) ? Set(Self.specialties) : []
                ),
                audit: .system
            )
            try await users.revokeTokens(userID: userID, label: "demo", audit: .system)
            let token = try await users.issueToken(userID: userID, label: "demo", audit: .system)
            seededUsers.append(
                SeededUser(username: username, roles: roles.map(\.rawValue).sorted().joined(separator: ","), token: token)
            )
        }

        let store = EncounterStore(client: client, logger: logger, queue: queue)
        let existing = try await store.count(inPractice: practiceID)
        var created = 0
        if existing == 0 {
            var generator = DemoRandom(seed: 2026)
            for index in stride(from: 1, through: encounters, by: 1) {
                let intake = Self.makeEncounter(
                    index: index,
                    practiceID: practiceID,
                    payerIDs: payerIDs,
                    providerIDs: providerIDs,
                    random: &generator
                )
                if try await store.receive(intake, audit: .system).created { created += 1 }
            }
        }
        return Result(users: seededUsers, encounterCount: existing + created, created: created)
    }

    static let firstNames = [
        ("Olivia", Sex.female), ("Liam", .male), ("Emma", .female), ("Noah", .male), ("Ava", .female),
        ("Elijah", .male), ("Sophia", .female), ("Mateo", .male), ("Isabella", .female), ("Lucas", .male),
        ("Mia", .female), ("Levi", .male), ("Amelia", .female), ("Ezra", .male), ("Harper", .female),
        ("Kai", .male), ("Evelyn", .female), ("Hiro", .male), ("Aaliyah", .female), ("Dmitri", .male),
    ]
    static let lastNames = [
        "Johnson", "Nguyen", "Patel", "Garcia", "Kowalski", "O'Brien", "Haddad", "Smith", "Williams", "Brown",
        "Rossi", "Müller", "Jackson", "Kim", "Lopez", "Anderson", "Yamamoto", "Dubois", "Singh", "Cohen",
    ]
    static let notes: [String: [String]] = [
        "family_medicine": [
            "Established patient, follow-up of type 2 diabetes without complications. A1c 7.2. Continue metformin. Counselled on diet.",
            "New patient with essential hypertension, BP 148/92. Start lisinopril 10 mg. Recheck in 4 weeks.",
            "Acute pharyngitis, rapid strep positive. Amoxicillin prescribed. Return if not improving in 48 hours.",
            "Annual wellness visit. Immunizations reviewed; influenza vaccine administered.",
        ],
        "cardiology": [
            "Follow-up for atrial fibrillation on apixaban. ECG today shows rate-controlled AF. Continue current therapy.",
            "Chest pain evaluation, exertional. Stress test ordered. Hyperlipidemia, continue atorvastatin 40 mg.",
            "Heart failure with reduced ejection fraction, NYHA class II. Increase carvedilol. Echo in 3 months.",
        ],
        "orthopedics": [
            "Right knee pain, primary osteoarthritis. Intra-articular corticosteroid injection performed.",
            "Left wrist fracture follow-up, distal radius, routine healing. Cast removed, physical therapy referral.",
            "Low back pain, lumbar strain after lifting. NSAIDs and home exercise program.",
        ],
    ]

    static func makeEncounter(
        index: Int,
        practiceID: UUID,
        payerIDs: [UUID],
        providerIDs: [UUID],
        random: inout DemoRandom
    ) -> EncounterIntake {
        let (firstName, sex) = firstNames[random.next(firstNames.count)]
        let lastName = lastNames[random.next(lastNames.count)]
        let birth = CalendarDate(year: 1940 + random.next(70), month: 1 + random.next(12), day: 1 + random.next(28))!
        let patient = Person(
            firstName: firstName, lastName: lastName, birthDate: birth, sex: sex,
            address: PostalAddress(line1: "\(10 + random.next(990)) Oak Avenue", city: "Springfield", state: "IL", postalCode: "62704")
        )
        let specialtyIndex = random.next(specialties.count)
        let specialty = specialties[specialtyIndex]
        let today = Date()
        let daysAgo = random.next(45)
        let components = Calendar(identifier: .gregorian).dateComponents(
            in: TimeZone(identifier: "UTC")!, from: today.addingTimeInterval(-Double(daysAgo) * 86_400))
        let dateOfService = CalendarDate(year: components.year!, month: components.month!, day: components.day!)!
        let coverage = Coverage(
            payerID: payerIDs[random.next(payerIDs.count)],
            memberID: "M" + String(100_000_000 + index * 7919 % 900_000_000),
            groupNumber: "G\(1000 + random.next(9000))",
            subscriber: patient,
            relationship: "18"
        )
        let candidates = notes[specialty] ?? []
        return EncounterIntake(
            practiceID: practiceID,
            externalID: "DEMO-\(String(repeating: "0", count: max(0, 5 - String(index).count)))\(index)",
            patientMRN: "MRN\(10_000 + index)",
            patient: patient,
            coverage: coverage,
            renderingProviderID: providerIDs[specialtyIndex % providerIDs.count],
            dateOfService: dateOfService,
            placeOfService: random.next(10) == 0 ? "02" : "11",
            specialty: specialty,
            priority: random.next(8) == 0 ? 50 : 0,
            documentation: candidates[random.next(candidates.count)]
        )
    }
}

/// A small deterministic generator (SplitMix64) so the demo data is the same on every machine.
struct DemoRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next(_ upperBound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(upperBound))
    }
}

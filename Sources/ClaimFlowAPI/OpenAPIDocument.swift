/// The OpenAPI 3.1 description of every ClaimFlow route, served at `/openapi.yaml`.
let openAPIDocument = #"""
    openapi: 3.1.0
    info:
      title: ClaimFlow API
      version: 1.0.0
      summary: Medical coding and billing work queues.
      description: |
        ClaimFlow takes encounters from the clinic, hands them to coders one at a time through
        the coding queue, turns coded encounters into claims, and hands claims to billers through
        the billing queue. Supervisors watch the queues and move work; administrators manage
        users, tokens, practices, providers and payers.

        Conventions:

        - Every route under `/api/v1` needs `Authorization: Bearer <token>`. A missing, unknown,
          expired or revoked token is answered with 401; a user without the role a route needs
          is answered with 403. The operations routes (`/healthz`, `/readyz`, `/openapi.yaml`)
          need no token.
        - Request bodies are JSON objects sent as `application/json`, at most 1 MiB (1048576
          bytes). The NDJSON batch intake accepts at most 16 MiB (16777216 bytes). A larger body
          is answered with 413, another media type with 415, malformed JSON with 400
          (`malformed-json`).
        - Request bodies use snake_case keys. Unknown fields are refused. Every problem found in
          a body is reported at once in a 422 `validation-failed` response, each finding with the
          JSON path of its field (such as `$.lines[0].units`).
        - Response bodies are JSON with snake_case keys. Times are ISO 8601 date-times, dates are
          `YYYY-MM-DD` strings, and fields without a value are left out.
        - Every error is an RFC 9457 problem document (`application/problem+json`) whose `type`
          is `https://claimflow.dev/problems/<code>`.
        - Work is handed out under a lease. Every write by the holder names the lease id
          (`lease_id`); once a lease has expired, been released or been reassigned, writes
          naming it are refused with 409 `stale-lease`.
    servers:
      - url: http://127.0.0.1:8080
        description: Default local address of `claimflow serve`.
    tags:
      - name: operations
        description: Health, readiness and this document. No token needed.
      - name: intake
        description: Encounters arriving from the clinic. Role intake.
      - name: coder
        description: The coding queue. Role coder.
      - name: biller
        description: The billing queue. Role biller.
      - name: supervisor
        description: Queue health, the work list and control over work. Role supervisor.
      - name: admin
        description: Users, tokens, practices, providers and payers. Role admin.
    security:
      - bearerAuth: []
    paths:
      /healthz:
        get:
          tags: [operations]
          operationId: getHealth
          summary: Liveness check
          description: Answers 200 while the process runs. Needs no token.
          security: []
          responses:
            '200':
              description: The process is up.
              content:
                application/json:
                  schema:
                    type: object
                    required: [status]
                    properties:
                      status:
                        type: string
                        const: ok
      /readyz:
        get:
          tags: [operations]
          operationId: getReadiness
          summary: Readiness check
          description: |
            Answers 200 when the database answers within 2 seconds, otherwise 503 with a
            `database-unavailable` problem. Needs no token.
          security: []
          responses:
            '200':
              description: The database is reachable.
              content:
                application/json:
                  schema:
                    type: object
                    required: [status, database]
                    properties:
                      status:
                        type: string
                        const: ready
                      database:
                        type: string
                        const: reachable
            '503':
              description: The database is not reachable (`database-unavailable`).
              content:
                application/problem+json:
                  schema:
                    $ref: '#/components/schemas/Problem'
      /openapi.yaml:
        get:
          tags: [operations]
          operationId: getOpenAPIDocument
          summary: This OpenAPI document
          description: The OpenAPI 3.1 description of every ClaimFlow route. Needs no token.
          security: []
          responses:
            '200':
              description: The document, as YAML.
              content:
                application/yaml:
                  schema:
                    type: string

      /metrics:
        get:
          tags: [operations]
          operationId: getMetrics
          summary: Prometheus metrics
          description: |
            No token. The Prometheus text format: queue depth, oldest age and active leases per
            queue, transitions by from/to stage, handoff findings by rule, claims by status, and
            HTTP request durations by route and status. Cheap to scrape: it reads memory only
            (the queue and claim gauges are sampled by a background task).
          security: []
          responses:
            '200':
              description: The metrics.
              content:
                text/plain:
                  schema:
                    type: string
      /dashboard:
        get:
          tags: [operations]
          operationId: getDashboard
          summary: The supervisor's dashboard page
          description: |
            No token to load the page; the page asks for a supervisor token and calls the API
            with it. HTML, CSS and a script of ClaimFlow's own, nothing from a CDN.
          security: []
          responses:
            '200':
              description: The page.
              content:
                text/html:
                  schema:
                    type: string
      /dashboard/{file}:
        get:
          tags: [operations]
          operationId: getDashboardFile
          summary: A file of the dashboard page (its CSS and script)
          security: []
          parameters:
            - name: file
              in: path
              required: true
              schema:
                type: string
                pattern: '^[a-z0-9_-]+[.](html|css|js|svg)$'
          responses:
            '200':
              description: The file.
              content:
                text/css:
                  schema:
                    type: string
                text/javascript:
                  schema:
                    type: string
            '404':
              $ref: '#/components/responses/NotFound'
      /api/v1/encounters:
        post:
          tags: [intake]
          operationId: receiveEncounter
          summary: Receive one encounter
          description: |
            Requires role **intake**.

            Records an encounter from the clinic and puts it in the coding queue. Intake is
            idempotent on the practice's `external_id`: sending the same encounter again answers
            200 with the same id; sending a different encounter under an external id that is
            already used answers 409 `conflict`. The practice, rendering provider and payer must
            exist (the practice must be one of the caller's), otherwise 422.
          requestBody:
            required: true
            description: One encounter. At most 1 MiB.
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/EncounterIntakeRequest'
          responses:
            '201':
              description: The encounter was created and queued for coding.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/IntakeOutcome'
            '200':
              description: An identical replay of an encounter already received; nothing changed.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/IntakeOutcome'
            '400':
              $ref: '#/components/responses/BadRequest'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '409':
              $ref: '#/components/responses/Conflict'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/encounters/batch:
        post:
          tags: [intake]
          operationId: receiveEncounterBatch
          summary: Receive a batch of encounters (NDJSON)
          description: |
            Requires role **intake**.

            The body is newline-delimited JSON: one encounter object per line, each shaped like
            the body of `POST /api/v1/encounters`. Blank lines are skipped. Each line is received
            on its own, so a bad line gets its own problem and does not affect the others. The
            answer is 200 with one result per non-blank line: status 201 (created), 200
            (identical replay) or the status of the line's problem (400, 409 or 422). The body
            may be at most 16 MiB (16777216 bytes).
          requestBody:
            required: true
            content:
              application/x-ndjson:
                schema:
                  type: string
                  description: One JSON object per line, each an `EncounterIntakeRequest`.
                  maxLength: 16777216
                example: |
                  {"practice_code":"DEMO","external_id":"V-1001","patient":{"mrn":"M-1","first_name":"Ana","last_name":"Diaz","birth_date":"1980-04-02","sex":"F"},"coverage":{"payer_code":"60054","member_id":"W123456789"},"rendering_provider_npi":"1234567893","date_of_service":"2024-05-01","place_of_service":"11","specialty":"family_medicine","documentation":"..."}
          responses:
            '200':
              description: Per-line results and totals.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/BatchOutcome'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '500':
              $ref: '#/components/responses/Internal'

      /api/v1/coder/next:
        post:
          tags: [coder]
          operationId: pullNextEncounter
          summary: Pull the next encounter to code
          description: |
            Requires role **coder**.

            Leases the highest-priority, oldest encounter in the coding queue that the coder may
            take (their practices and skills) and answers with the lease and the coder's view of
            the encounter. With `wait`, the request waits up to that many seconds for work to
            arrive; 204 means nothing came within the wait. No request body.
          parameters:
            - $ref: '#/components/parameters/Wait'
          responses:
            '200':
              description: An encounter was leased to the caller.
              content:
                application/json:
                  schema:
                    type: object
                    required: [lease, encounter]
                    properties:
                      lease:
                        $ref: '#/components/schemas/Lease'
                      encounter:
                        $ref: '#/components/schemas/CoderEncounterView'
            '204':
              description: No work was available within the wait.
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/coder/encounters/{id}/codes:
        put:
          tags: [coder]
          operationId: saveEncounterCodes
          summary: Save the codes of a leased encounter
          description: |
            Requires role **coder**.

            Replaces the draft diagnoses and service lines of the encounter the caller holds a
            lease on. Diagnoses are ICD-10-CM codes, with or without the dot; they are stored
            and answered without it. Each line's `pointers` name 1 to 4 diagnoses by position.

            The answer lists the handoff findings for the saved codes: the same rules the
            handoff check applies when the encounter is completed. Errors block the handoff;
            completing with errors is allowed, and the check then returns the encounter to
            coding with these same findings.
          parameters:
            - $ref: '#/components/parameters/EncounterId'
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/SaveCodesRequest'
          responses:
            '200':
              description: The codes were saved.
              content:
                application/json:
                  schema:
                    type: object
                    required: [encounter_id, codes, findings]
                    properties:
                      encounter_id:
                        type: string
                        format: uuid
                      codes:
                        $ref: '#/components/schemas/CodeAssignment'
                      findings:
                        type: array
                        items:
                          $ref: '#/components/schemas/CodingFinding'
            '400':
              $ref: '#/components/responses/BadRequest'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '409':
              $ref: '#/components/responses/Conflict'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/coder/encounters/{id}/complete:
        post:
          tags: [coder]
          operationId: completeEncounterCoding
          summary: Finish coding a leased encounter
          description: |
            Requires role **coder**.

            Ends the lease and moves the encounter to `coded`, from where the handoff check sends
            it on to billing or back to coding with findings.
          parameters:
            - $ref: '#/components/parameters/EncounterId'
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/LeaseRequest'
          responses:
            '200':
              description: Coding is complete.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/StageResult'
            '400':
              $ref: '#/components/responses/BadRequest'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '409':
              $ref: '#/components/responses/Conflict'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/coder/encounters/{id}/query:
        post:
          tags: [coder]
          operationId: queryProvider
          summary: Ask the provider a question
          description: |
            Requires role **coder**.

            Records a question to the rendering clinician, ends the lease and puts the encounter
            `on_hold` until the question is answered.
          parameters:
            - $ref: '#/components/parameters/EncounterId'
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/ProviderQueryRequest'
          responses:
            '200':
              description: The question was recorded and the encounter is on hold.
              content:
                application/json:
                  schema:
                    type: object
                    required: [encounter_id, stage, query_id]
                    properties:
                      encounter_id:
                        type: string
                        format: uuid
                      stage:
                        $ref: '#/components/schemas/Stage'
                      query_id:
                        type: string
                        format: uuid
            '400':
              $ref: '#/components/responses/BadRequest'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '409':
              $ref: '#/components/responses/Conflict'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/coder/encounters/{id}/release:
        post:
          tags: [coder]
          operationId: releaseEncounter
          summary: Give a leased encounter back to the queue
          description: |
            Requires role **coder**.

            Ends the lease without finishing; the encounter returns to the stage it waited in.
          parameters:
            - $ref: '#/components/parameters/EncounterId'
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/CoderReleaseRequest'
          responses:
            '200':
              description: The lease was released; the answer names the encounter's stage now.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/StageResult'
            '400':
              $ref: '#/components/responses/BadRequest'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '409':
              $ref: '#/components/responses/Conflict'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/coder/encounters/{id}/heartbeat:
        post:
          tags: [coder]
          operationId: heartbeatEncounterLease
          summary: Extend a lease
          description: |
            Requires role **coder**.

            Extends the caller's lease on the encounter and answers with its new expiry.
          parameters:
            - $ref: '#/components/parameters/EncounterId'
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/LeaseRequest'
          responses:
            '200':
              description: The lease was extended.
              content:
                application/json:
                  schema:
                    type: object
                    required: [lease]
                    properties:
                      lease:
                        $ref: '#/components/schemas/Lease'
            '400':
              $ref: '#/components/responses/BadRequest'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '409':
              $ref: '#/components/responses/Conflict'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'

      /api/v1/biller/next:
        post:
          tags: [biller]
          operationId: pullNextClaim
          summary: Pull the next claim to bill
          description: |
            Requires role **biller**.

            Leases the highest-priority, oldest encounter in the billing queue that the biller
            may take and answers with the lease and the biller's view of its current claim. With
            `wait`, the request waits up to that many seconds for work to arrive; 204 means
            nothing came within the wait. No request body.
          parameters:
            - $ref: '#/components/parameters/Wait'
          responses:
            '200':
              description: A claim was leased to the caller.
              content:
                application/json:
                  schema:
                    type: object
                    required: [lease, claim]
                    properties:
                      lease:
                        $ref: '#/components/schemas/Lease'
                      claim:
                        $ref: '#/components/schemas/BillerClaimView'
            '204':
              description: No work was available within the wait.
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/biller/claims/{id}:
        get:
          tags: [biller]
          operationId: getClaim
          summary: View a claim
          description: |
            Requires role **biller**.

            The biller's view of one claim in the caller's practices. Viewing is audited.
          parameters:
            - $ref: '#/components/parameters/ClaimId'
          responses:
            '200':
              description: The claim.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/BillerClaimView'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/biller/claims/{id}/x12:
        get:
          tags: [biller]
          operationId: getClaimX12
          summary: The claim's X12 837P
          description: |
            Requires role **biller**.

            The claim version as an 837P 005010X222A1 interchange holding this claim alone. Once
            the claim has gone out, the envelope carries the control numbers of the interchange
            that sent it; before that, a preview numbered 999999999 (a number the control
            sequences never issue). Reading it is audited like reading the claim.
          parameters:
            - $ref: '#/components/parameters/EncounterId'
          responses:
            '200':
              description: The 837P text.
              content:
                application/edi-x12:
                  schema:
                    type: string
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/biller/claims/{id}/submit:
        post:
          tags: [biller]
          operationId: submitClaim
          summary: Submit a claim
          description: |
            Requires role **biller**.

            Marks the leased claim submitted and moves its encounter to `submitted`.
          parameters:
            - $ref: '#/components/parameters/ClaimId'
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/LeaseRequest'
          responses:
            '200':
              description: The claim was submitted.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/ClaimStatusResult'
            '400':
              $ref: '#/components/responses/BadRequest'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '409':
              $ref: '#/components/responses/Conflict'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/biller/claims/{id}/return:
        post:
          tags: [biller]
          operationId: returnClaimToCoding
          summary: Return a claim to coding
          description: |
            Requires role **biller**.

            Withdraws the leased, unsubmitted claim and sends its encounter back to the coding
            queue (`returned_to_coding`) with a reason; the encounter is offered first to the
            coder who coded it.
          parameters:
            - $ref: '#/components/parameters/ClaimId'
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/ReturnClaimRequest'
          responses:
            '200':
              description: The claim was withdrawn and the encounter returned to coding.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/ClaimStatusResult'
            '400':
              $ref: '#/components/responses/BadRequest'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '409':
              $ref: '#/components/responses/Conflict'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'

      /api/v1/acknowledgments:
        post:
          tags: [biller]
          operationId: postAcknowledgments
          summary: Apply a 999 or 277CA acknowledgment file
          description: |
            Requires role **biller**.

            A 999 rejecting a transaction set, or a 277CA rejecting a claim, sends the claim to
            the billing queue as a new claim version to fix and send again; a 277CA acceptance
            moves it to `accepted` with the payer's claim number. The file is applied whole or
            not at all: a file that does not parse, has wrong counts or names a claim ClaimFlow
            did not send is a 422 naming the segment position, and changes nothing. Applying the
            same file again changes nothing. Limit 16 MiB.
          requestBody:
            required: true
            content:
              application/edi-x12:
                schema:
                  type: string
              text/plain:
                schema:
                  type: string
          responses:
            '200':
              description: What happened to each claim.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/AnswersApplied'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/remittances:
        post:
          tags: [biller]
          operationId: postRemittances
          summary: Apply an 835 remittance file
          description: |
            Requires role **biller**.

            Each CLP pays or denies a claim. A paid claim moves to `paid` with the amount. A
            denied claim moves to `denied`, then: when any of its CARC codes is a coding reason
            (the `coding_denial_reasons` table: 4, 5, 6, 7, 9, 10, 11, 97, 146, 151, 167, 181,
            182, 236), to the coding queue as a new coding version, whose claim will replace the
            denied one (frequency 7); otherwise to the billing queue as a replacement claim
            version. Reversals (CLP02 22) are refused. Applied whole or not at all, like
            acknowledgments. Limit 16 MiB.
          requestBody:
            required: true
            content:
              application/edi-x12:
                schema:
                  type: string
              text/plain:
                schema:
                  type: string
          responses:
            '200':
              description: What happened to each claim.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/AnswersApplied'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/supervisor/users:
        get:
          tags: [supervisor]
          operationId: listAssignees
          summary: The coders and billers work can be assigned to
          description: |
            Requires role **supervisor**.

            Active users with the coder or biller role in the supervisor's practices: ids and
            names only.
          responses:
            '200':
              description: The users.
              content:
                application/json:
                  schema:
                    type: object
                    required: [users]
                    properties:
                      users:
                        type: array
                        items:
                          type: object
                          required: [id, username, display_name, roles]
                          properties:
                            id:
                              type: string
                              format: uuid
                            username:
                              type: string
                            display_name:
                              type: string
                            roles:
                              type: array
                              items:
                                type: string
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/supervisor/productivity:
        get:
          tags: [supervisor]
          operationId: getProductivity
          summary: Productivity per user and day
          description: |
            Requires role **supervisor**.

            Per user and day between `from` and `to` (dates of the work, inclusive): encounters
            coded, claims submitted, mean and 90th-percentile handle time (lease to completion,
            seconds), and the share of the day's coded encounters the handoff check sent back;
            per user, the denial rate of the claims they coded that the payer answered in the
            range. Read from the audit trail.
          parameters:
            - name: from
              in: query
              required: true
              schema:
                type: string
                format: date
            - name: to
              in: query
              required: true
              schema:
                type: string
                format: date
          responses:
            '200':
              description: The figures.
              content:
                application/json:
                  schema:
                    type: object
                    required: [from, to, users]
                    properties:
                      from:
                        type: string
                        format: date
                      to:
                        type: string
                        format: date
                      users:
                        type: array
                        items:
                          type: object
                          required: [user_id, username, days]
                          properties:
                            user_id:
                              type: string
                              format: uuid
                            username:
                              type: string
                            denial_rate:
                              type: number
                            days:
                              type: array
                              items:
                                type: object
                                required: [day, encounters_coded, claims_submitted]
                                properties:
                                  day:
                                    type: string
                                    format: date
                                  encounters_coded:
                                    type: integer
                                  claims_submitted:
                                    type: integer
                                  mean_handle_seconds:
                                    type: number
                                  p90_handle_seconds:
                                    type: number
                                  returned_share:
                                    type: number
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/supervisor/queues:
        get:
          tags: [supervisor]
          operationId: getQueues
          summary: Queue health
          description: |
            Requires role **supervisor**.

            Per practice and queue: items waiting, leased and returned, the age of the oldest
            item and aging by days since the date of service; and encounters on hold.
          responses:
            '200':
              description: The queues of the caller's practices.
              content:
                application/json:
                  schema:
                    type: object
                    required: [queues, holds]
                    properties:
                      queues:
                        type: array
                        items:
                          $ref: '#/components/schemas/QueueSummary'
                      holds:
                        type: array
                        items:
                          $ref: '#/components/schemas/HoldSummary'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/supervisor/work:
        get:
          tags: [supervisor]
          operationId: listWork
          summary: The work list
          description: |
            Requires role **supervisor**.

            Encounters in the caller's practices, filtered by the query parameters, ordered by
            date of service and id, one page at a time. Pass the page's `next` value as `after`
            to get the next page; the last page has no `next`. Invalid parameters are answered
            with 422, each with a finding at `query.<name>`.
          parameters:
            - name: queue
              in: query
              required: false
              description: Only work in this queue.
              schema:
                $ref: '#/components/schemas/WorkQueueName'
            - name: stage
              in: query
              required: false
              description: Only encounters in this stage.
              schema:
                $ref: '#/components/schemas/Stage'
            - name: assignee
              in: query
              required: false
              description: Only work leased to this user id.
              schema:
                type: string
                format: uuid
            - name: practice
              in: query
              required: false
              description: Only this practice (by code); it must be one of the caller's.
              schema:
                type: string
            - name: from
              in: query
              required: false
              description: Earliest date of service (inclusive).
              schema:
                $ref: '#/components/schemas/CalendarDate'
            - name: to
              in: query
              required: false
              description: Latest date of service (inclusive).
              schema:
                $ref: '#/components/schemas/CalendarDate'
            - name: after
              in: query
              required: false
              description: The `next` value of the previous page (`YYYY-MM-DD_<encounter id>`).
              schema:
                type: string
            - name: limit
              in: query
              required: false
              description: Page size.
              schema:
                type: integer
                minimum: 1
                maximum: 500
                default: 50
          responses:
            '200':
              description: One page of the work list.
              content:
                application/json:
                  schema:
                    type: object
                    required: [items]
                    properties:
                      items:
                        type: array
                        items:
                          $ref: '#/components/schemas/WorkListItem'
                      next:
                        type: string
                        description: Pass as `after` for the next page; absent on the last page.
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/supervisor/work/{id}/reassign:
        post:
          tags: [supervisor]
          operationId: reassignWork
          summary: Reassign an encounter's open work
          description: |
            Requires role **supervisor**.

            Gives the encounter's open work (leased or waiting) to another user under a new
            lease; any earlier lease becomes stale. The user must be able to take the work
            (role, practice, skill, active), otherwise 422 `invalid-assignee`. 404 when the
            encounter has no open work.
          parameters:
            - $ref: '#/components/parameters/EncounterId'
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/ReassignRequest'
          responses:
            '200':
              description: The work was reassigned.
              content:
                application/json:
                  schema:
                    type: object
                    required: [encounter_id, holder, lease]
                    properties:
                      encounter_id:
                        type: string
                        format: uuid
                      holder:
                        type: string
                        format: uuid
                        description: The user who now holds the lease.
                      lease:
                        $ref: '#/components/schemas/Lease'
            '400':
              $ref: '#/components/responses/BadRequest'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '409':
              $ref: '#/components/responses/Conflict'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/supervisor/work/{id}/release:
        post:
          tags: [supervisor]
          operationId: releaseWork
          summary: Release an encounter's lease
          description: |
            Requires role **supervisor**.

            Ends whoever's lease the encounter is under and returns it to its queue. 404 when the
            encounter has no leased work. The body is a JSON object, possibly empty (`{}`).
          parameters:
            - $ref: '#/components/parameters/EncounterId'
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/SupervisorReleaseRequest'
          responses:
            '200':
              description: The lease was released; the answer names the encounter's stage now.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/StageResult'
            '400':
              $ref: '#/components/responses/BadRequest'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '409':
              $ref: '#/components/responses/Conflict'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/supervisor/work/{id}/priority:
        post:
          tags: [supervisor]
          operationId: setWorkPriority
          summary: Set an encounter's priority
          description: |
            Requires role **supervisor**.

            Sets the priority of the encounter's open work; higher is pulled first. 404 when the
            encounter has no open work.
          parameters:
            - $ref: '#/components/parameters/EncounterId'
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/PriorityRequest'
          responses:
            '200':
              description: The priority was set.
              content:
                application/json:
                  schema:
                    type: object
                    required: [encounter_id, priority]
                    properties:
                      encounter_id:
                        type: string
                        format: uuid
                      priority:
                        type: integer
                        minimum: 0
                        maximum: 100
            '400':
              $ref: '#/components/responses/BadRequest'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/encounters/{id}/answer:
        post:
          tags: [intake]
          operationId: answerProviderQuery
          summary: Record the clinician's answer to a provider query
          description: |
            Requires role **intake** or **supervisor**.

            Records the answer to the encounter's open provider query and returns the encounter
            from `on_hold` to the coding queue, offered first to the coder who asked. 409 when
            the encounter has no open query.
          parameters:
            - $ref: '#/components/parameters/EncounterId'
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  additionalProperties: false
                  required: [answer]
                  properties:
                    answer:
                      type: string
                      minLength: 1
                      maxLength: 4000
          responses:
            '200':
              description: The answer was recorded and the encounter is back in the coding queue.
              content:
                application/json:
                  schema:
                    type: object
                    required: [encounter_id, stage]
                    properties:
                      encounter_id:
                        type: string
                        format: uuid
                      stage:
                        $ref: '#/components/schemas/Stage'
            '400':
              $ref: '#/components/responses/BadRequest'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '409':
              $ref: '#/components/responses/Conflict'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/encounters/{id}/history:
        get:
          tags: [supervisor]
          operationId: getEncounterHistory
          summary: An encounter's audit trail
          description: |
            Requires role **supervisor**.

            Every recorded event of the encounter, oldest first.
          parameters:
            - $ref: '#/components/parameters/EncounterId'
          responses:
            '200':
              description: The audit trail.
              content:
                application/json:
                  schema:
                    type: object
                    required: [events]
                    properties:
                      events:
                        type: array
                        items:
                          $ref: '#/components/schemas/AuditEvent'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '500':
              $ref: '#/components/responses/Internal'

      /api/v1/admin/users:
        get:
          tags: [admin]
          operationId: listUsers
          summary: List users
          description: |
            Requires role **admin**.

            The users who belong to any of the caller's practices.
          responses:
            '200':
              description: The users.
              content:
                application/json:
                  schema:
                    type: object
                    required: [users]
                    properties:
                      users:
                        type: array
                        items:
                          $ref: '#/components/schemas/User'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '500':
              $ref: '#/components/responses/Internal'
        post:
          tags: [admin]
          operationId: createUser
          summary: Create or update a user
          description: |
            Requires role **admin**.

            Creates the user, or updates the user with the same `username` (display name, roles,
            practices, skills, active). Every practice code must be one of the caller's.
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/CreateUserRequest'
          responses:
            '201':
              description: The user was saved.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/CreatedId'
            '400':
              $ref: '#/components/responses/BadRequest'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '409':
              $ref: '#/components/responses/Conflict'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/admin/users/{id}/tokens:
        get:
          tags: [admin]
          operationId: listUserTokens
          summary: List a user's tokens
          description: |
            Requires role **admin**.

            The user's API tokens, newest first, without their secret values. The user must share
            a practice with the caller.
          parameters:
            - $ref: '#/components/parameters/UserId'
          responses:
            '200':
              description: The tokens.
              content:
                application/json:
                  schema:
                    type: object
                    required: [tokens]
                    properties:
                      tokens:
                        type: array
                        items:
                          $ref: '#/components/schemas/TokenInfo'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '500':
              $ref: '#/components/responses/Internal'
        post:
          tags: [admin]
          operationId: issueUserToken
          summary: Issue a token
          description: |
            Requires role **admin**.

            Issues a new API token for the user. The token is shown in this answer only; ClaimFlow
            stores just its digest. The user must share a practice with the caller.
          parameters:
            - $ref: '#/components/parameters/UserId'
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/IssueTokenRequest'
          responses:
            '201':
              description: The token was issued.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/IssuedToken'
            '400':
              $ref: '#/components/responses/BadRequest'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/admin/users/{id}/tokens/{token}/revoke:
        post:
          tags: [admin]
          operationId: revokeUserToken
          summary: Revoke a token
          description: |
            Requires role **admin**.

            Revokes one of the user's tokens; it is refused from the very next request. Revoking
            a token that is already revoked succeeds. No request body.
          parameters:
            - $ref: '#/components/parameters/UserId'
            - $ref: '#/components/parameters/TokenId'
          responses:
            '200':
              description: The token is revoked.
              content:
                application/json:
                  schema:
                    type: object
                    required: [revoked]
                    properties:
                      revoked:
                        type: string
                        format: uuid
                        description: The id of the revoked token.
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/admin/practices:
        get:
          tags: [admin]
          operationId: listPractices
          summary: List practices
          description: |
            Requires role **admin**.

            The caller's practices.
          responses:
            '200':
              description: The practices.
              content:
                application/json:
                  schema:
                    type: object
                    required: [practices]
                    properties:
                      practices:
                        type: array
                        items:
                          $ref: '#/components/schemas/Practice'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '500':
              $ref: '#/components/responses/Internal'
        post:
          tags: [admin]
          operationId: createPractice
          summary: Create a practice
          description: |
            Requires role **admin**.

            Creates a practice; the caller is added to it. 409 `conflict` when a practice with
            the code already exists.
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/CreatePracticeRequest'
          responses:
            '201':
              description: The practice was created.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/CreatedId'
            '400':
              $ref: '#/components/responses/BadRequest'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '409':
              $ref: '#/components/responses/Conflict'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/admin/practices/{code}/providers:
        get:
          tags: [admin]
          operationId: listProviders
          summary: List a practice's providers
          description: |
            Requires role **admin**.

            The rendering providers of one of the caller's practices.
          parameters:
            - $ref: '#/components/parameters/PracticeCode'
          responses:
            '200':
              description: The providers.
              content:
                application/json:
                  schema:
                    type: object
                    required: [providers]
                    properties:
                      providers:
                        type: array
                        items:
                          $ref: '#/components/schemas/Provider'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '500':
              $ref: '#/components/responses/Internal'
        post:
          tags: [admin]
          operationId: createProvider
          summary: Add or update a provider
          description: |
            Requires role **admin**.

            Saves a rendering provider of one of the caller's practices, keyed by NPI.
          parameters:
            - $ref: '#/components/parameters/PracticeCode'
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/CreateProviderRequest'
          responses:
            '201':
              description: The provider was saved.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/CreatedId'
            '400':
              $ref: '#/components/responses/BadRequest'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '404':
              $ref: '#/components/responses/NotFound'
            '409':
              $ref: '#/components/responses/Conflict'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'
      /api/v1/admin/payers:
        get:
          tags: [admin]
          operationId: listPayers
          summary: List payers
          description: |
            Requires role **admin**.

            Every payer known to ClaimFlow (payers are shared by all practices).
          responses:
            '200':
              description: The payers.
              content:
                application/json:
                  schema:
                    type: object
                    required: [payers]
                    properties:
                      payers:
                        type: array
                        items:
                          $ref: '#/components/schemas/Payer'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '500':
              $ref: '#/components/responses/Internal'
        post:
          tags: [admin]
          operationId: createPayer
          summary: Add or update a payer
          description: |
            Requires role **admin**.

            Saves a payer, keyed by its electronic payer id (`payer_code`).
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/CreatePayerRequest'
          responses:
            '201':
              description: The payer was saved.
              content:
                application/json:
                  schema:
                    $ref: '#/components/schemas/CreatedId'
            '400':
              $ref: '#/components/responses/BadRequest'
            '401':
              $ref: '#/components/responses/Unauthorized'
            '403':
              $ref: '#/components/responses/Forbidden'
            '409':
              $ref: '#/components/responses/Conflict'
            '413':
              $ref: '#/components/responses/PayloadTooLarge'
            '415':
              $ref: '#/components/responses/UnsupportedMediaType'
            '422':
              $ref: '#/components/responses/ValidationFailed'
            '500':
              $ref: '#/components/responses/Internal'

    components:
      securitySchemes:
        bearerAuth:
          type: http
          scheme: bearer
          description: An API token issued by an administrator (`POST /api/v1/admin/users/{id}/tokens`).

      parameters:
        EncounterId:
          name: id
          in: path
          required: true
          description: The encounter id. It must be in one of the caller's practices, otherwise 404.
          schema:
            type: string
            format: uuid
        ClaimId:
          name: id
          in: path
          required: true
          description: The claim id. It must be in one of the caller's practices, otherwise 404.
          schema:
            type: string
            format: uuid
        UserId:
          name: id
          in: path
          required: true
          description: The user id. The user must share a practice with the caller, otherwise 404.
          schema:
            type: string
            format: uuid
        TokenId:
          name: token
          in: path
          required: true
          description: The token id (as listed by `GET /api/v1/admin/users/{id}/tokens`), not the token itself.
          schema:
            type: string
            format: uuid
        PracticeCode:
          name: code
          in: path
          required: true
          description: The practice code. It must be one of the caller's practices, otherwise 404.
          schema:
            type: string
        Wait:
          name: wait
          in: query
          required: false
          description: |
            Seconds to wait for work when none is available right away (long poll), 0 to 30.
            Anything else is answered with 422.
          schema:
            type: integer
            minimum: 0
            maximum: 30
            default: 0

      responses:
        BadRequest:
          description: The body is not well-formed JSON (`malformed-json`).
          content:
            application/problem+json:
              schema:
                $ref: '#/components/schemas/Problem'
              example:
                type: https://claimflow.dev/problems/malformed-json
                title: Bad Request
                status: 400
                detail: the body at $ is not well-formed JSON
        Unauthorized:
          description: No token, a malformed `Authorization` header, or an unknown, expired or revoked token (`unauthorized`).
          headers:
            WWW-Authenticate:
              description: Always `Bearer`.
              schema:
                type: string
          content:
            application/problem+json:
              schema:
                $ref: '#/components/schemas/Problem'
              example:
                type: https://claimflow.dev/problems/unauthorized
                title: Unauthorized
                status: 401
                detail: 'send a bearer token: Authorization: Bearer <token>'
        Forbidden:
          description: The user does not hold the role the route needs (`forbidden`).
          content:
            application/problem+json:
              schema:
                $ref: '#/components/schemas/Problem'
              example:
                type: https://claimflow.dev/problems/forbidden
                title: Forbidden
                status: 403
                detail: this needs the coder role
        NotFound:
          description: |
            No such resource in the caller's practices (`not-found`); also when a path id is not
            a UUID.
          content:
            application/problem+json:
              schema:
                $ref: '#/components/schemas/Problem'
              example:
                type: https://claimflow.dev/problems/not-found
                title: Not Found
                status: 404
                detail: encounter 6f1c2a9e-7d3b-4c55-9a0e-2b8f4d6e1a73 not found
        Conflict:
          description: |
            The request conflicts with the current state. `type` is one of:
            `stale-lease` (the lease id is not the live lease: it expired, was released or was
            reassigned), `wrong-stage` (the encounter or claim is not in a stage that allows the
            request), `illegal-transition` (the stage move is not allowed), or `conflict` (a
            unique key is already used with different content).
          content:
            application/problem+json:
              schema:
                $ref: '#/components/schemas/Problem'
              example:
                type: https://claimflow.dev/problems/stale-lease
                title: Conflict
                status: 409
                detail: 'the lease is not the live lease of encounter 6f1c2a9e-7d3b-4c55-9a0e-2b8f4d6e1a73: it expired, was released or was reassigned'
        PayloadTooLarge:
          description: |
            The body is larger than the limit (`payload-too-large`): 1 MiB (1048576 bytes) for
            JSON bodies, 16 MiB (16777216 bytes) for the NDJSON batch.
          content:
            application/problem+json:
              schema:
                $ref: '#/components/schemas/Problem'
              example:
                type: https://claimflow.dev/problems/payload-too-large
                title: Content Too Large
                status: 413
                detail: the body is larger than the limit of 1048576 bytes
        UnsupportedMediaType:
          description: |
            The body was not sent with the expected `Content-Type` (`unsupported-media-type`):
            `application/json`, or `application/x-ndjson` for the batch.
          content:
            application/problem+json:
              schema:
                $ref: '#/components/schemas/Problem'
              example:
                type: https://claimflow.dev/problems/unsupported-media-type
                title: Unsupported Media Type
                status: 415
                detail: send the body as application/json
        ValidationFailed:
          description: |
            The body or query is not valid (`validation-failed`, with one finding per problem),
            or, for a supervisor's reassignment, the user cannot take the work
            (`invalid-assignee`).
          content:
            application/problem+json:
              schema:
                $ref: '#/components/schemas/Problem'
              example:
                type: https://claimflow.dev/problems/validation-failed
                title: Unprocessable Content
                status: 422
                detail: 2 field(s) are not valid
                findings:
                  - path: $.lines[0].units
                    message: must be a whole number, not a string
                  - path: $.extra
                    message: is not a known field
        Internal:
          description: An unexpected failure (`internal`); the detail names the request id.
          content:
            application/problem+json:
              schema:
                $ref: '#/components/schemas/Problem'
              example:
                type: https://claimflow.dev/problems/internal
                title: Internal Server Error
                status: 500
                detail: something went wrong on our side; the request id is 42

      schemas:
        Problem:
          type: object
          description: An RFC 9457 problem document, the body of every error.
          required: [type, title, status, detail]
          properties:
            type:
              type: string
              format: uri
              description: A stable identifier, `https://claimflow.dev/problems/<code>`.
              examples:
                - https://claimflow.dev/problems/stale-lease
            title:
              type: string
              description: The HTTP reason phrase of the status.
            status:
              type: integer
              description: The HTTP status code.
            detail:
              type: string
              description: An explanation for people. It never carries patient data or database error text.
            findings:
              type: array
              description: Present on 422 `validation-failed` problems only.
              items:
                $ref: '#/components/schemas/Finding'
        Finding:
          type: object
          description: One problem with one field of a request.
          required: [path, message]
          properties:
            path:
              type: string
              description: JSON path of the field in the body (such as `$.lines[0].units`), or `query.<name>` for a query parameter.
            message:
              type: string

        Stage:
          type: string
          description: Where an encounter is in the revenue cycle.
          enum:
            - received
            - ready_to_code
            - coding
            - on_hold
            - coded
            - returned_to_coding
            - ready_to_bill
            - billing
            - submitted
            - accepted
            - rejected
            - denied
            - rework
            - paid
            - closed
        WorkQueueName:
          type: string
          description: The two work queues. Coders take from `coding`, billers from `billing`.
          enum: [coding, billing]
        Sex:
          type: string
          description: Administrative sex (F female, M male, U unknown).
          enum: [F, M, U]
        Role:
          type: string
          enum: [intake, coder, biller, supervisor, admin]
        CalendarDate:
          type: string
          format: date
          pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
          description: A calendar date as `YYYY-MM-DD`, years 1900 to 2200.
          examples:
            - '2024-05-01'
        NPI:
          type: string
          pattern: '^[0-9]{10}$'
          description: A National Provider Identifier, 10 digits whose last is a Luhn check digit.

        Lease:
          type: object
          description: |
            An exclusive, time-limited hold on one encounter's work. Name its `id` as `lease_id`
            in every write; heartbeat before `expires_at` to keep it.
          required: [id, expires_at]
          properties:
            id:
              type: string
              format: uuid
            expires_at:
              type: string
              format: date-time

        ServiceLine:
          type: object
          description: One service line (837P loop 2400).
          required: [code, modifiers, units, charge, pointers]
          properties:
            code:
              type: string
              description: CPT (5 digits, or 4 digits and F, T or U) or HCPCS Level II (letter and 4 digits).
            modifiers:
              type: array
              maxItems: 4
              items:
                type: string
            units:
              type: number
            charge:
              type: number
              description: The line charge in dollars.
            pointers:
              type: array
              description: 1-based positions in the diagnosis list, the first being primary.
              minItems: 1
              maxItems: 4
              items:
                type: integer
                minimum: 1
                maximum: 12
        CodeAssignment:
          type: object
          description: The diagnoses and service lines of one coding version of an encounter.
          required: [diagnoses, lines]
          properties:
            diagnoses:
              type: array
              description: ICD-10-CM codes without dots, in claim order; the first is the principal diagnosis.
              maxItems: 12
              items:
                type: string
            lines:
              type: array
              maxItems: 50
              items:
                $ref: '#/components/schemas/ServiceLine'
        ProviderQuery:
          type: object
          description: A coder's question to the clinician and, once given, the answer.
          required: [id, question, asked_at]
          properties:
            id:
              type: string
              format: uuid
            question:
              type: string
            asked_at:
              type: string
              format: date-time
            answer:
              type: string
            answered_at:
              type: string
              format: date-time
        CoderEncounterView:
          type: object
          description: |
            What a coder sees of an encounter: the documentation, the patient's age and sex, and
            the codes. No names, member ids or addresses.
          required:
            - id
            - external_id
            - practice_code
            - stage
            - version
            - date_of_service
            - place_of_service
            - specialty
            - priority
            - patient_age
            - patient_sex
            - rendering_provider
            - documentation
            - codes
            - queries
          properties:
            id:
              type: string
              format: uuid
            external_id:
              type: string
            practice_code:
              type: string
            stage:
              $ref: '#/components/schemas/Stage'
            version:
              type: integer
              description: The coding version.
            date_of_service:
              $ref: '#/components/schemas/CalendarDate'
            place_of_service:
              type: string
            specialty:
              type: string
            priority:
              type: integer
            patient_age:
              type: integer
              description: Age in whole years on the date of service.
            patient_sex:
              $ref: '#/components/schemas/Sex'
            rendering_provider:
              type: string
              description: The rendering provider's name.
            documentation:
              type: string
              description: The clinician's note.
            codes:
              $ref: '#/components/schemas/CodeAssignment'
            queries:
              type: array
              description: Provider queries, oldest first.
              items:
                $ref: '#/components/schemas/ProviderQuery'
            findings:
              type: array
              description: Why the handoff check sent this coding version back, when it did.
              items:
                $ref: '#/components/schemas/CodingFinding'
        AnswersApplied:
          type: object
          required: [kind, claims]
          properties:
            kind:
              type: string
              enum: ['999', '277CA', '835']
            claims:
              type: array
              items:
                type: object
                required: [claim_id, encounter_id, outcome, changed]
                properties:
                  claim_id:
                    type: string
                    format: uuid
                  encounter_id:
                    type: string
                    format: uuid
                  outcome:
                    type: string
                    enum: [accepted, rejected, paid, denied]
                  routed_to:
                    type: string
                    enum: [coding, billing]
                  changed:
                    type: boolean
                    description: False when the file had already been applied to this claim.
        CodingFinding:
          type: object
          description: One problem the handoff rules found.
          required: [rule, severity, path, message]
          properties:
            rule:
              type: string
              description: Stable rule id, such as diagnosis.header, line.mue or ncci.pair.
            severity:
              type: string
              enum: [error, warning]
              description: Errors block the handoff to billing; warnings do not.
            path:
              type: string
              description: JSON path of what the finding is about, such as $.diagnoses[0].
            message:
              type: string

        PostalAddress:
          type: object
          required: [line1, city, state, postal_code]
          properties:
            line1:
              type: string
            line2:
              type: string
            city:
              type: string
            state:
              type: string
              description: Two-letter state code.
            postal_code:
              type: string
              description: 5 or 9 digit ZIP code.
        Practice:
          type: object
          description: A billing provider whose NPI and tax id go on the claim.
          required: [code, name, npi, tax_id, taxonomy, address, segregate_duties]
          properties:
            id:
              type: string
              format: uuid
            code:
              type: string
              description: A short handle used in URLs, such as `DEMO`.
            name:
              type: string
            npi:
              $ref: '#/components/schemas/NPI'
            tax_id:
              type: string
            taxonomy:
              type: string
            address:
              $ref: '#/components/schemas/PostalAddress'
            segregate_duties:
              type: boolean
              description: When true, the biller of a claim may not be the coder of its encounter.
        ClaimParty:
          type: object
          description: The patient or the insured subscriber on a claim.
          required: [first_name, last_name, birth_date, sex]
          properties:
            first_name:
              type: string
            last_name:
              type: string
            birth_date:
              $ref: '#/components/schemas/CalendarDate'
            sex:
              $ref: '#/components/schemas/Sex'
            address:
              $ref: '#/components/schemas/PostalAddress'
        BillerClaimView:
          type: object
          description: What a biller sees of a claim. No clinical documentation.
          required:
            - id
            - encounter_id
            - version
            - frequency_code
            - status
            - stage
            - total_charge
            - practice
            - rendering_provider_npi
            - rendering_provider_name
            - payer_code
            - payer_name
            - member_id
            - relationship
            - subscriber
            - patient
            - date_of_service
            - place_of_service
            - codes
          properties:
            id:
              type: string
              format: uuid
            encounter_id:
              type: string
              format: uuid
            version:
              type: integer
              description: The coding version the claim was built from.
            frequency_code:
              type: string
              description: The claim frequency code.
            status:
              type: string
              description: The claim's status, such as `ready`, `submitted` or `withdrawn`.
            stage:
              $ref: '#/components/schemas/Stage'
            total_charge:
              type: number
              description: The sum of the line charges, in dollars.
            practice:
              $ref: '#/components/schemas/Practice'
            rendering_provider_npi:
              $ref: '#/components/schemas/NPI'
            rendering_provider_name:
              type: string
            payer_code:
              type: string
            payer_name:
              type: string
            member_id:
              type: string
            group_number:
              type: string
            relationship:
              type: string
              description: X12 relationship code of the patient to the subscriber (18 self).
            subscriber:
              $ref: '#/components/schemas/ClaimParty'
            patient:
              $ref: '#/components/schemas/ClaimParty'
            date_of_service:
              $ref: '#/components/schemas/CalendarDate'
            place_of_service:
              type: string
            codes:
              $ref: '#/components/schemas/CodeAssignment'
        ClaimStatusResult:
          type: object
          required: [claim_id, status, stage]
          properties:
            claim_id:
              type: string
              format: uuid
            status:
              type: string
              enum: [submitted, withdrawn]
            stage:
              $ref: '#/components/schemas/Stage'

        AuditEvent:
          type: object
          description: One entry of an encounter's audit trail.
          required: [id, occurred_at, action, detail]
          properties:
            id:
              type: integer
              format: int64
            occurred_at:
              type: string
              format: date-time
            action:
              type: string
              description: What happened, such as `encounter.received` or `coding.completed`.
            actor_id:
              type: string
              format: uuid
              description: The acting user; absent when ClaimFlow itself acted.
            actor_username:
              type: string
            from_stage:
              type: string
            to_stage:
              type: string
            lease_id:
              type: string
              format: uuid
            client_address:
              type: string
            request_id:
              type: string
            detail:
              type: string
              description: Further detail of the event, as JSON text.
        QueueSummary:
          type: object
          description: The state of one queue in one practice.
          required: [queue, practice_code, waiting, leased, returned, aging, dnfb_charges, near_filing_limit]
          properties:
            dnfb_charges:
              type: number
              description: Not-final-billed dollars, the charges of the items' current codes.
            near_filing_limit:
              type: integer
              description: Items within 30 days of their payer's timely filing limit, or past it.
            queue:
              $ref: '#/components/schemas/WorkQueueName'
            practice_code:
              type: string
            waiting:
              type: integer
              description: Items waiting, not leased.
            leased:
              type: integer
              description: Items leased to someone now.
            returned:
              type: integer
              description: Items waiting because coding or billing sent them back.
            oldest_age_seconds:
              type: integer
              description: Age in seconds of the oldest item, by time queued; absent when the queue is empty.
            aging:
              type: object
              description: 'Items by days since the date of service, keyed "0-1", "2-3", "4-7", "8-14" and "15+".'
              additionalProperties:
                type: integer
        HoldSummary:
          type: object
          description: Encounters on hold for a provider query in one practice.
          required: [practice_code, on_hold]
          properties:
            practice_code:
              type: string
            on_hold:
              type: integer
            oldest_age_seconds:
              type: integer
        WorkListItem:
          type: object
          description: One row of the work list.
          required: [encounter_id, external_id, practice_code, stage, priority, date_of_service, specialty]
          properties:
            encounter_id:
              type: string
              format: uuid
            external_id:
              type: string
            practice_code:
              type: string
            stage:
              $ref: '#/components/schemas/Stage'
            queue:
              $ref: '#/components/schemas/WorkQueueName'
            priority:
              type: integer
            date_of_service:
              $ref: '#/components/schemas/CalendarDate'
            specialty:
              type: string
            assignee:
              type: string
              format: uuid
            assignee_username:
              type: string
            lease_expires_at:
              type: string
              format: date-time
            enqueued_at:
              type: string
              format: date-time
        StageResult:
          type: object
          required: [encounter_id, stage]
          properties:
            encounter_id:
              type: string
              format: uuid
            stage:
              $ref: '#/components/schemas/Stage'

        Provider:
          type: object
          description: A clinician who renders services for a practice.
          required: [practice_id, npi, first_name, last_name]
          properties:
            id:
              type: string
              format: uuid
            practice_id:
              type: string
              format: uuid
            npi:
              $ref: '#/components/schemas/NPI'
            first_name:
              type: string
            last_name:
              type: string
            taxonomy:
              type: string
        Payer:
          type: object
          description: An insurer, known by its electronic payer id.
          required: [payer_code, name, filing_limit_days]
          properties:
            id:
              type: string
              format: uuid
            payer_code:
              type: string
            name:
              type: string
            filing_limit_days:
              type: integer
              description: Days after the date of service within which the payer accepts a claim.
        User:
          type: object
          required: [id, username, display_name, roles, practices, skills, active]
          properties:
            id:
              type: string
              format: uuid
            username:
              type: string
            display_name:
              type: string
            roles:
              type: array
              items:
                $ref: '#/components/schemas/Role'
            practices:
              type: array
              description: Codes of the user's practices that the caller also belongs to.
              items:
                type: string
            skills:
              type: array
              description: Specialties the user may code.
              items:
                type: string
            active:
              type: boolean
        TokenInfo:
          type: object
          required: [id, label, created_at]
          properties:
            id:
              type: string
              format: uuid
            label:
              type: string
            created_at:
              type: string
              format: date-time
            revoked_at:
              type: string
              format: date-time
              description: Absent while the token is valid.
        IssuedToken:
          type: object
          required: [user_id, token]
          properties:
            user_id:
              type: string
              format: uuid
            token:
              type: string
              description: The bearer token. Shown once; only its digest is stored.
        CreatedId:
          type: object
          required: [id]
          properties:
            id:
              type: string
              format: uuid

        IntakeOutcome:
          type: object
          required: [id, created, stage]
          properties:
            id:
              type: string
              format: uuid
              description: The encounter id.
            created:
              type: boolean
              description: False when this was a replay of an encounter already received.
            stage:
              $ref: '#/components/schemas/Stage'
        BatchLineResult:
          type: object
          required: [line, status]
          properties:
            line:
              type: integer
              description: The 1-based line number in the body.
            status:
              type: integer
              description: 201 created, 200 replayed, otherwise the status of `problem`.
            id:
              type: string
              format: uuid
              description: The encounter id, when the line was received.
            problem:
              $ref: '#/components/schemas/Problem'
        BatchOutcome:
          type: object
          required: [created, replayed, failed, results]
          properties:
            created:
              type: integer
            replayed:
              type: integer
            failed:
              type: integer
            results:
              type: array
              items:
                $ref: '#/components/schemas/BatchLineResult'

        PostalAddressInput:
          type: object
          additionalProperties: false
          required: [line1, city, state, postal_code]
          properties:
            line1:
              type: string
              minLength: 1
              maxLength: 55
            line2:
              type: string
              minLength: 1
              maxLength: 55
            city:
              type: string
              minLength: 1
              maxLength: 30
            state:
              type: string
              pattern: '^[A-Z]{2}$'
            postal_code:
              type: string
              pattern: '^[0-9]{5}([0-9]{4})?$'
        PersonInput:
          type: object
          additionalProperties: false
          required: [first_name, last_name, birth_date, sex]
          properties:
            first_name:
              type: string
              minLength: 1
              maxLength: 35
            last_name:
              type: string
              minLength: 1
              maxLength: 60
            birth_date:
              $ref: '#/components/schemas/CalendarDate'
            sex:
              $ref: '#/components/schemas/Sex'
            address:
              $ref: '#/components/schemas/PostalAddressInput'
        PatientInput:
          type: object
          additionalProperties: false
          required: [mrn, first_name, last_name, birth_date, sex]
          properties:
            mrn:
              type: string
              minLength: 1
              maxLength: 50
              description: The practice's medical record number for the patient.
            first_name:
              type: string
              minLength: 1
              maxLength: 35
            last_name:
              type: string
              minLength: 1
              maxLength: 60
            birth_date:
              $ref: '#/components/schemas/CalendarDate'
            sex:
              $ref: '#/components/schemas/Sex'
            address:
              $ref: '#/components/schemas/PostalAddressInput'
        CoverageInput:
          type: object
          additionalProperties: false
          required: [payer_code, member_id]
          properties:
            payer_code:
              type: string
              minLength: 1
              maxLength: 80
              description: A known payer's electronic payer id.
            member_id:
              type: string
              pattern: '^[A-Za-z0-9-]{2,80}$'
            group_number:
              type: string
              minLength: 1
              maxLength: 50
            relationship:
              type: string
              description: |
                X12 relationship code of the patient to the subscriber: 18 self (the default),
                01 spouse, 19 child, 20 employee, 21 unknown, 39, 40, 53 or G8 other.
              enum: ['01', '18', '19', '20', '21', '39', '40', '53', G8]
              default: '18'
            subscriber:
              $ref: '#/components/schemas/PersonInput'
              description: The insured person. Required unless `relationship` is 18 (self).
        EncounterIntakeRequest:
          type: object
          description: One encounter from the clinic.
          additionalProperties: false
          required:
            - practice_code
            - external_id
            - patient
            - coverage
            - rendering_provider_npi
            - date_of_service
            - place_of_service
            - specialty
            - documentation
          properties:
            practice_code:
              type: string
              minLength: 1
              maxLength: 20
              description: One of the caller's practices.
            external_id:
              type: string
              minLength: 1
              maxLength: 80
              description: The practice's own id for the visit; intake is idempotent on it.
            patient:
              $ref: '#/components/schemas/PatientInput'
            coverage:
              $ref: '#/components/schemas/CoverageInput'
            rendering_provider_npi:
              $ref: '#/components/schemas/NPI'
              description: The NPI of a provider of the practice.
            date_of_service:
              $ref: '#/components/schemas/CalendarDate'
            place_of_service:
              type: string
              pattern: '^[0-9]{2}$'
              description: CMS place of service code, such as 11.
            specialty:
              type: string
              pattern: '^[a-z][a-z0-9_]{1,40}$'
              description: The specialty whose coders may code the encounter, such as family_medicine.
            priority:
              type: integer
              minimum: 0
              maximum: 100
              default: 0
            documentation:
              type: string
              minLength: 1
              maxLength: 100000
              description: The clinician's note.

        ServiceLineInput:
          type: object
          additionalProperties: false
          required: [code, units, charge, pointers]
          properties:
            code:
              type: string
              pattern: '^([0-9]{5}|[0-9]{4}[FTU]|[A-Z][0-9]{4})$'
              description: CPT (5 digits, or 4 digits and F, T or U) or HCPCS Level II (letter and 4 digits).
            modifiers:
              type: array
              maxItems: 4
              items:
                type: string
                pattern: '^[A-Z0-9]{2}$'
              description: Up to four two-character modifiers, such as 25 or XS.
            units:
              type: integer
              minimum: 1
              maximum: 9999
            charge:
              type: string
              pattern: '^[0-9]{1,7}(\.[0-9]{1,2})?$'
              description: The line charge in dollars, as a string such as "125.00".
              examples:
                - '125.00'
            pointers:
              type: array
              minItems: 1
              maxItems: 4
              description: Positions (1-based) in `diagnoses` of the diagnoses this line treats, the first being primary.
              items:
                type: integer
                minimum: 1
                maximum: 12
        SaveCodesRequest:
          type: object
          additionalProperties: false
          required: [lease_id, diagnoses, lines]
          properties:
            lease_id:
              type: string
              format: uuid
            diagnoses:
              type: array
              maxItems: 12
              description: ICD-10-CM codes in claim order, with or without the dot (E11.9 or E119); the first is the principal diagnosis.
              items:
                type: string
                pattern: '^[A-Za-z][0-9][A-Za-z0-9]\.?[A-Za-z0-9]{0,4}$'
            lines:
              type: array
              maxItems: 50
              items:
                $ref: '#/components/schemas/ServiceLineInput'
        LeaseRequest:
          type: object
          additionalProperties: false
          required: [lease_id]
          properties:
            lease_id:
              type: string
              format: uuid
              description: The id of the caller's live lease.
        ProviderQueryRequest:
          type: object
          additionalProperties: false
          required: [lease_id, question]
          properties:
            lease_id:
              type: string
              format: uuid
            question:
              type: string
              minLength: 1
              maxLength: 4000
        CoderReleaseRequest:
          type: object
          additionalProperties: false
          required: [lease_id]
          properties:
            lease_id:
              type: string
              format: uuid
            reason:
              type: string
              minLength: 1
              maxLength: 500
        ReturnClaimRequest:
          type: object
          additionalProperties: false
          required: [lease_id, reason]
          properties:
            lease_id:
              type: string
              format: uuid
            reason:
              type: string
              minLength: 1
              maxLength: 500
        ReassignRequest:
          type: object
          additionalProperties: false
          required: [to_user, reason]
          properties:
            to_user:
              type: string
              format: uuid
              description: The user id to give the work to.
            reason:
              type: string
              minLength: 1
              maxLength: 500
        SupervisorReleaseRequest:
          type: object
          additionalProperties: false
          required: [reason]
          properties:
            reason:
              type: string
              minLength: 1
              maxLength: 500
        PriorityRequest:
          type: object
          additionalProperties: false
          required: [priority, reason]
          properties:
            priority:
              type: integer
              minimum: 0
              maximum: 100
            reason:
              type: string
              minLength: 1
              maxLength: 500
        CreateUserRequest:
          type: object
          additionalProperties: false
          required: [username, display_name, roles, practices]
          properties:
            username:
              type: string
              pattern: '^[a-z0-9][a-z0-9._-]{1,62}$'
            display_name:
              type: string
              minLength: 1
              maxLength: 200
            roles:
              type: array
              maxItems: 5
              items:
                $ref: '#/components/schemas/Role'
            practices:
              type: array
              maxItems: 100
              description: Practice codes; each must be one of the caller's practices.
              items:
                type: string
            skills:
              type: array
              maxItems: 50
              description: Specialties the user may code.
              items:
                type: string
                pattern: '^[a-z][a-z0-9_]{1,40}$'
            active:
              type: boolean
              default: true
        IssueTokenRequest:
          type: object
          additionalProperties: false
          properties:
            label:
              type: string
              minLength: 1
              maxLength: 200
              description: A note on what the token is for.
        CreatePracticeRequest:
          type: object
          additionalProperties: false
          required: [code, name, npi, tax_id, taxonomy, address]
          properties:
            code:
              type: string
              pattern: '^[A-Z0-9_-]{2,20}$'
            name:
              type: string
              minLength: 1
              maxLength: 200
            npi:
              $ref: '#/components/schemas/NPI'
            tax_id:
              type: string
              pattern: '^[0-9]{9}$'
            taxonomy:
              type: string
              pattern: '^[0-9A-Z]{9}X$'
            address:
              $ref: '#/components/schemas/PostalAddressInput'
            segregate_duties:
              type: boolean
              default: false
              description: When true, the biller of a claim may not be the coder of its encounter.
        CreateProviderRequest:
          type: object
          additionalProperties: false
          required: [npi, first_name, last_name]
          properties:
            npi:
              $ref: '#/components/schemas/NPI'
            first_name:
              type: string
              minLength: 1
              maxLength: 35
            last_name:
              type: string
              minLength: 1
              maxLength: 60
            taxonomy:
              type: string
              pattern: '^[0-9A-Z]{9}X$'
        CreatePayerRequest:
          type: object
          additionalProperties: false
          required: [payer_code, name]
          properties:
            payer_code:
              type: string
              pattern: '^[A-Za-z0-9]{2,80}$'
              description: The payer's electronic payer id.
            name:
              type: string
              minLength: 1
              maxLength: 60
            filing_limit_days:
              type: integer
              minimum: 1
              maximum: 3650
              default: 365
    """#

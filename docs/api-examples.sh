#!/bin/sh
# How a GP's practice software reads a patient's timeline through the REST API with a
# personal token, and how a FHIR client reads Patient/$everything: against `make demo`.
#
#   make demo            # in another terminal: http://127.0.0.1:8000
#   sh docs/api-examples.sh [BASE_URL]
#
# Needs curl and python3 (for reading the JSON answers). Every access is audited, as in
# the browser: the GP's token acts as the GP, under the same access policy.
set -eu
BASE=${1:-http://127.0.0.1:8000}
MANAGE=".venv/bin/python manage.py"
# Prints a Python expression of the JSON answer read on stdin (`data`).
json() { python3 -c "import json, sys; data = json.load(sys.stdin); print($1)"; }

# 1. The GP (médecin traitant) gets a personal API token. In real life: the page
#    "Jetons d'API" (/compte/jetons/) of their account; here, the command line.
KEY=$($MANAGE issue_api_token medecin@demo.tsn.test --name "Logiciel du cabinet" | sed -n 1p)
AUTH="Authorization: Bearer $KEY"

# 2. The software finds its patient by name (the demo patient's, as the practice knows it).
NAME=$($MANAGE shell --no-imports -c \
  "from tsn.models import User; print(User.objects.get(email='patient@demo.tsn.test').last_name)")
PATIENT=$(curl -sf -H "$AUTH" "$BASE/api/patients/?name=$NAME" | json 'data["results"][0]["id"]')
echo "Patient $NAME: id $PATIENT"

# 3. The timeline, newest first, 5 events a page; then the next page (keyset cursor).
PAGE=$(curl -sf -H "$AUTH" "$BASE/api/patients/$PATIENT/timeline/?limit=5")
echo "$PAGE" | json '"\n".join(e["occurred_at"][:16] + "  " + e["kind"].ljust(20) + e["title"] for e in data["results"])'
NEXT=$(echo "$PAGE" | json 'data["next"] or ""')
[ -n "$NEXT" ] && curl -sf -H "$AUTH" "$NEXT" | json '"... then %d older events" % len(data["results"])'

# 4. Only the hospital events of the last year (the page's filters).
SINCE=$(python3 -c 'import datetime; print(datetime.date.today().replace(year=datetime.date.today().year - 1))')
curl -sf -H "$AUTH" "$BASE/api/patients/$PATIENT/timeline/?kind=hospital_admission&start=$SINCE" \
  | json '"%d hospital admissions since '"$SINCE"'" % len(data["results"])'

# 5. A FHIR client reads the whole record as a Bundle (application/fhir+json).
curl -sf -H "$AUTH" -H "Accept: application/fhir+json" "$BASE/fhir/Patient/$PATIENT/\$everything" \
  | json '"FHIR Bundle (%s): " % data["type"] + ", ".join(sorted({e["resource"]["resourceType"] for e in data["entry"]}))'

# 6. The OpenAPI schema and its browsable documentation.
echo "OpenAPI: $BASE/api/schema/  —  docs: $BASE/api/docs/  —  FHIR: $BASE/fhir/metadata"

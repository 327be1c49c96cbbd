#!/bin/sh
# Namespace and the engine's custom search attributes (operational state only; never personal data).
set -eu
temporal operator namespace describe -n "$NAMESPACE" >/dev/null 2>&1 || temporal operator namespace create -n "$NAMESPACE" --retention 30d
for sa in KapStep=Keyword KapStepDeadline=Datetime KapClinic=Keyword KapStatus=Keyword KapProtocol=Keyword; do
  temporal operator search-attribute create -n "$NAMESPACE" --name "${sa%%=*}" --type "${sa#*=}" || true
done
echo 'namespace and search attributes ready'

// The HAPI FHIR 8.8.0 R4 instance validator (org.hl7.fhir.validation 6.7.9 inside) as a one-file
// program, run with `java -cp '<lib>/*' Validate.java <file.json>...` (no build step). Each file is
// one resource (a Bundle's entries are validated with it). Offline: the R4 core definitions come from
// hapi-fhir-validation-resources-r4 on the class path; code systems it cannot check offline (LOINC,
// RxNorm, SNOMED, our local ones) give a warning, never an error. Prints one JSON object:
// { "files": n, "messages": [{ "file", "severity", "location", "message" }] } (information dropped).
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.UnknownCodeSystemWarningValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

public class Validate {
  public static void main(String[] args) throws Exception {
    FhirContext ctx = FhirContext.forR4();
    UnknownCodeSystemWarningValidationSupport unknown = new UnknownCodeSystemWarningValidationSupport(ctx);
    unknown.setNonExistentCodeSystemSeverity(ca.uhn.fhir.context.support.IValidationSupport.IssueSeverity.WARNING);
    ValidationSupportChain chain = new ValidationSupportChain(
        new DefaultProfileValidationSupport(ctx),
        new CommonCodeSystemsTerminologyService(ctx),
        new InMemoryTerminologyServerValidationSupport(ctx),
        new SnapshotGeneratingValidationSupport(ctx),
        unknown);
    FhirInstanceValidator module = new FhirInstanceValidator(chain);
    module.setAnyExtensionsAllowed(true);
    module.setNoTerminologyChecks(false);
    FhirValidator validator = ctx.newValidator().registerValidatorModule(module);
    StringBuilder out = new StringBuilder("{\"files\":").append(args.length).append(",\"messages\":[");
    boolean first = true;
    for (String file : args) {
      String text = Files.readString(Path.of(file), StandardCharsets.UTF_8);
      ValidationResult result = validator.validateWithResult(text);
      for (SingleValidationMessage m : result.getMessages()) {
        if (m.getSeverity() == ResultSeverityEnum.INFORMATION) continue;
        if (!first) out.append(',');
        first = false;
        out.append("{\"file\":").append(q(file)).append(",\"severity\":").append(q(m.getSeverity().getCode()))
            .append(",\"location\":").append(q(m.getLocationString())).append(",\"message\":").append(q(m.getMessage())).append('}');
      }
    }
    System.out.println(out.append("]}"));
  }

  private static String q(String s) {
    if (s == null) return "null";
    StringBuilder b = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }
}

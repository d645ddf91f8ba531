using System.Text.Json.Nodes;
using FnOperator.KubeApiServer.Validation.Cel;
using FnOperator.KubeApiServer.Validation.Schema;

namespace FnOperator.KubeApiServer.Validation;

/// <summary>The outcome of admitting a custom resource: the pruned, defaulted object and what was wrong with it.</summary>
public sealed record AdmissionResult(JsonObject Object, IReadOnlyList<FieldError> Errors, IReadOnlyList<string> UnknownFields);

/// <summary>
/// Validates custom resources against the openAPIV3Schema of CRDs (crds/*.yaml) as the apiserver does: nulls of
/// non-nullable fields dropped, unknown fields pruned, defaults applied, then OpenAPI validation and the
/// x-kubernetes-validations CEL rules (the subset in docs/testing.md). Usable without the server.
/// </summary>
public sealed class CrdSchemaValidator
{
    private readonly CelRules cel = new();
    private readonly List<CrdDefinition> crds;

    private CrdSchemaValidator(List<CrdDefinition> crds)
    {
        this.crds = crds;
        foreach (var crd in crds)
        {
            foreach (var version in crd.Versions)
            {
                cel.Compile(version.Schema, $"{crd.Name} {version.Name}");
            }
        }
    }

    public IReadOnlyList<CrdDefinition> Crds => crds;

    /// <summary>Loads every CustomResourceDefinition in the *.yaml/*.yml/*.json files of a directory.</summary>
    public static CrdSchemaValidator LoadDirectory(string crdsDir)
    {
        var files = Directory.EnumerateFiles(crdsDir).Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
        return FromObjects(files.SelectMany(f => Documents(f)));
    }

    public static CrdSchemaValidator FromYaml(string yaml) => FromObjects(YamlJson.ParseDocuments(yaml).OfType<JsonObject>());

    public static CrdSchemaValidator FromObjects(IEnumerable<JsonObject> crdObjects) =>
        new([.. crdObjects.Where(o => (string?)o["kind"] == "CustomResourceDefinition").Select(CrdDefinition.FromObject)]);

    public static CrdSchemaValidator FromDefinitions(IEnumerable<CrdDefinition> definitions) => new([.. definitions]);

    public CrdDefinition? Find(string group, string kind) => crds.FirstOrDefault(c => c.Group == group && c.Kind == kind);

    public CrdDefinition? FindByPlural(string group, string plural) => crds.FirstOrDefault(c => c.Group == group && c.Plural == plural);

    /// <summary>
    /// Validates a custom resource as `kubectl apply` (strict field validation) would have the server do: errors as the
    /// server words them ("spec.memoryMiB: Invalid value: 64: spec.memoryMiB in body should be greater than or equal
    /// to 128"), plus `unknown field "spec.x"` for fields the schema does not declare. Empty when valid.
    /// </summary>
    public IReadOnlyList<string> Validate(JsonNode obj)
    {
        if (obj is not JsonObject root)
        {
            return ["expected a JSON/YAML object"];
        }

        var (group, version) = SplitApiVersion((string?)root["apiVersion"]);
        var kind = (string?)root["kind"];
        var crd = kind is null ? null : Find(group, kind);
        if (crd is null)
        {
            return [$"no CustomResourceDefinition for kind \"{kind}\" in apiVersion \"{(string?)root["apiVersion"]}\""];
        }

        if (crd.Version(version) is not { Served: true })
        {
            return [$"version \"{version}\" of {crd.Name} is not served"];
        }

        var errors = new List<string>();
        if (root["metadata"]?["name"] is null && root["metadata"]?["generateName"] is null)
        {
            errors.Add(FieldError.Required("metadata.name", "name or generateName is required").ToString());
        }

        var result = Admit(crd, version, root, null);
        errors.AddRange(result.UnknownFields.Select(f => $"unknown field \"{f}\""));
        errors.AddRange(result.Errors.Select(e => e.ToString()));
        return errors;
    }

    /// <summary>Prunes, defaults and validates <paramref name="obj"/> (not modified); <paramref name="old"/> is the stored object on update.</summary>
    public AdmissionResult Admit(CrdDefinition crd, string version, JsonNode obj, JsonNode? old)
    {
        var copy = (JsonObject)JsonNode.Parse(obj.ToJsonString())!; // also normalises numbers built in code
        var unknown = new List<string>();
        var errors = new List<FieldError>();
        if (crd.Version(version)?.Schema is { } schema)
        {
            SchemaDefaulting.Apply(copy, schema, "", unknown, root: true);
            new SchemaValidation(cel).Validate(copy, old is null ? null : JsonNode.Parse(old.ToJsonString()), schema, "", errors, root: true);
        }

        return new AdmissionResult(copy, errors, unknown);
    }

    public static (string Group, string Version) SplitApiVersion(string? apiVersion)
    {
        var slash = apiVersion?.LastIndexOf('/') ?? -1;
        return slash < 0 ? ("", apiVersion ?? "") : (apiVersion![..slash], apiVersion[(slash + 1)..]);
    }

    private static IEnumerable<JsonObject> Documents(string file)
    {
        var text = File.ReadAllText(file);
        try
        {
            return file.EndsWith(".json", StringComparison.Ordinal) ? [JsonNode.Parse(text)!.AsObject()] : YamlJson.ParseDocuments(text).OfType<JsonObject>().ToList();
        }
        catch (Exception e) when (e is not CelException)
        {
            throw new InvalidDataException($"{file}: {e.Message}", e);
        }
    }
}

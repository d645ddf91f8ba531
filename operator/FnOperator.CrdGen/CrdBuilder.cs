using System.ComponentModel;
using System.Reflection;
using FnOperator.Api;
using FnOperator.Api.Schema;
using k8s.Models;

namespace FnOperator.CrdGen;

/// <summary>Builds the CustomResourceDefinition of a root model type marked with [CustomResource].</summary>
public static class CrdBuilder
{
    /// <summary>Every custom resource of the project, in the order they are documented.</summary>
    public static readonly IReadOnlyList<Type> ResourceTypes = [typeof(Function), typeof(Layer), typeof(Alias), typeof(EventSourceMapping)];

    /// <summary>Categories every kind belongs to: <c>kubectl get fnoperator</c> lists them all.</summary>
    public static readonly IReadOnlyList<string> Categories = ["fnoperator"];

    public static IReadOnlyList<V1CustomResourceDefinition> BuildAll() => [.. ResourceTypes.Select(Build)];

    public static V1CustomResourceDefinition Build(Type type)
    {
        var resource = type.GetCustomAttribute<CustomResourceAttribute>()
            ?? throw new InvalidOperationException($"{type.Name} has no [CustomResource].");
        var spec = type.GetProperty("Spec")?.PropertyType ?? throw new InvalidOperationException($"{type.Name} has no Spec.");
        var status = type.GetProperty("Status")?.PropertyType ?? throw new InvalidOperationException($"{type.Name} has no Status.");
        var description = type.GetCustomAttribute<DescriptionAttribute>()?.Description
            ?? throw new InvalidOperationException($"{type.Name} has no [Description].");

        return new V1CustomResourceDefinition
        {
            ApiVersion = "apiextensions.k8s.io/v1",
            Kind = "CustomResourceDefinition",
            Metadata = new V1ObjectMeta
            {
                Name = $"{resource.Plural}.{ApiGroup.Group}",
                Labels = new Dictionary<string, string>
                {
                    ["app.kubernetes.io/name"] = "fn-operator",
                    ["app.kubernetes.io/part-of"] = "fn-operator",
                },
            },
            Spec = new V1CustomResourceDefinitionSpec
            {
                Group = ApiGroup.Group,
                Scope = "Namespaced",
                Names = new V1CustomResourceDefinitionNames
                {
                    Kind = resource.Kind,
                    ListKind = resource.Kind + "List",
                    Plural = resource.Plural,
                    Singular = resource.Singular ?? resource.Kind.ToLowerInvariant(),
                    ShortNames = [resource.ShortName],
                    Categories = [.. Categories],
                },
                Versions =
                [
                    new V1CustomResourceDefinitionVersion
                    {
                        Name = ApiGroup.Version,
                        Served = true,
                        Storage = true,
                        Subresources = new V1CustomResourceSubresources { Status = new Dictionary<string, object>() },
                        AdditionalPrinterColumns = PrinterColumns(type),
                        Schema = new V1CustomResourceValidation { OpenAPIV3Schema = RootSchema(description, spec, status) },
                    },
                ],
            },
        };
    }

    private static V1JSONSchemaProps RootSchema(string description, Type spec, Type status)
    {
        var specSchema = SchemaGenerator.ForObject(spec);
        var statusSchema = SchemaGenerator.ForObject(Nullable.GetUnderlyingType(status) ?? status);
        return new V1JSONSchemaProps
        {
            Type = "object",
            Description = description,
            Required = ["spec"],
            Properties = new Dictionary<string, V1JSONSchemaProps>
            {
                ["apiVersion"] = new()
                {
                    Type = "string",
                    Description = "APIVersion defines the versioned schema of this representation of an object: " + ApiGroup.ApiVersion + ".",
                },
                ["kind"] = new() { Type = "string", Description = "Kind is a string value representing the REST resource this object represents." },
                ["metadata"] = new() { Type = "object", Description = "Standard object metadata: name, namespace, labels, annotations." },
                ["spec"] = specSchema,
                ["status"] = statusSchema,
            },
        };
    }

    private static List<V1CustomResourceColumnDefinition> PrinterColumns(Type type) =>
        [.. type.GetCustomAttributes<PrinterColumnAttribute>()
            .OrderBy(c => c.Order)
            .Select(c => new V1CustomResourceColumnDefinition
            {
                Name = c.Name,
                Type = c.Type,
                JsonPath = c.JsonPath,
                Description = c.Description,
                Priority = c.Priority == 0 ? null : c.Priority,
            })];
}

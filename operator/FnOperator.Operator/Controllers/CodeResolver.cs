using System.Net;
using System.Security.Cryptography;
using System.Text;
using FnOperator.Api;
using FnOperator.Operator.Resources;
using FnOperator.Operator.Runtime;
using k8s;
using k8s.Autorest;

namespace FnOperator.Operator.Controllers;

/// <summary>Resolves spec.code to what the builder needs and the hash status.codeSha256 reports.</summary>
public sealed class CodeResolver(IKubernetes client)
{
    /// <summary>The code phase: sets <see cref="FunctionState.Code"/>, or a missing ConfigMap (looked at again later: it is not watched).</summary>
    public async Task<Problem?> ResolveAsync(FunctionState state, CancellationToken cancellationToken)
    {
        var fn = state.Function;
        var code = fn.Spec.Code;
        if (!string.IsNullOrEmpty(code.Url))
        {
            state.Code = new ResolvedCode { Source = CodeSource.Url, Url = code.Url, Sha256 = code.Sha256 ?? "" };
            return null;
        }

        if (!string.IsNullOrEmpty(code.Image))
        {
            state.Code = new ResolvedCode { Source = CodeSource.Image, Image = code.Image, Sha256 = Hash(code.Image) };
            return null;
        }

        var name = code.ConfigMap?.Name ?? "";
        try
        {
            var configMap = await client.CoreV1.ReadNamespacedConfigMapAsync(name, fn.Metadata.NamespaceProperty, cancellationToken: cancellationToken).ConfigureAwait(false);
            var builder = new StringBuilder();
            foreach (var (key, value) in (configMap.Data ?? new Dictionary<string, string>()).OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                builder.Append(key).Append('\0').Append(value).Append('\0');
            }

            foreach (var (key, value) in (configMap.BinaryData ?? new Dictionary<string, byte[]>()).OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                builder.Append(key).Append('\0').Append(Convert.ToBase64String(value)).Append('\0');
            }

            state.Code = new ResolvedCode { Source = CodeSource.ConfigMap, ConfigMapName = name, Sha256 = Hash(builder.ToString()) };
            state.CodeConfigMap = configMap;
            return null;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return Problem.AfterDependency(FunctionConditions.CodeReady, FunctionReasons.ConfigMapNotFound,
                $"ConfigMap {fn.Metadata.NamespaceProperty}/{name} named by spec.code.configMap does not exist.");
        }
    }

    public static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}

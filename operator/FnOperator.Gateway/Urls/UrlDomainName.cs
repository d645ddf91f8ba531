using System.Text.RegularExpressions;

namespace FnOperator.Gateway.Urls;

/// <summary>The check for <see cref="GatewayOptions.UrlDomain"/>: one or more DNS labels, e.g. localhost or fn.example.com.</summary>
public static partial class UrlDomainName
{
    public static bool IsValid(string domain) => domain.Length <= 253 - 128 && Pattern().IsMatch(domain);

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")]
    private static partial Regex Pattern();
}

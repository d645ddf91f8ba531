using StackExchange.Redis;

namespace FnOperator.EventSources.Sources;

/// <summary>Connecting to Redis (<c>redis://host:port</c>) with a mapping's credentials (username/password, or token as the password).</summary>
internal static class RedisConnect
{
    public static async Task<ConnectionMultiplexer> OpenAsync(string url, SourceCredentials credentials, CancellationToken cancellationToken)
    {
        var uri = new Uri(url);
        var options = new ConfigurationOptions
        {
            EndPoints = { { uri.Host, uri.Port > 0 ? uri.Port : 6379 } },
            User = credentials.Username,
            Password = credentials.Password ?? credentials.Token,
            AbortOnConnectFail = true,
            ConnectTimeout = 5000,
            ConnectRetry = 1,
            ClientName = "fnoperator-event-source",
        };
        try
        {
            var redis = await ConnectionMultiplexer.ConnectAsync(options).WaitAsync(TimeSpan.FromSeconds(15), cancellationToken).ConfigureAwait(false);
            await redis.GetDatabase().PingAsync().ConfigureAwait(false);
            return redis;
        }
        catch (Exception e) when (e is RedisConnectionException or RedisServerException or TimeoutException)
        {
            var auth = e.Message.Contains("AUTH", StringComparison.OrdinalIgnoreCase) || e.Message.Contains("NOAUTH", StringComparison.Ordinal) || e.Message.Contains("WRONGPASS", StringComparison.Ordinal)
                || (e as RedisConnectionException)?.FailureType == ConnectionFailureType.AuthenticationFailure;
            throw new SourceException(auth ? SourceFailure.AuthFailed : SourceFailure.Unreachable, $"redis {uri.Host}:{uri.Port}: {e.Message}", e);
        }
    }
}

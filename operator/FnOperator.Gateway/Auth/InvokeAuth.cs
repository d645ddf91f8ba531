using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FnOperator.Gateway.Auth;

/// <summary>The two hooks GatewayApp calls: register the auth services for the mode, and put the middleware in the pipeline.</summary>
public static class InvokeAuth
{
    public static void AddServices(IServiceCollection services, AuthOptions options)
    {
        services.TryAddSingleton(options);
        if (options.Mode == AuthMode.Off)
        {
            return;
        }

        services.TryAddSingleton(sp => new FailureLimiter(options.FailureBurst, options.CacheCapacity, sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton<AuthMetrics>();
        services.TryAddSingleton<InvokeAuthMiddleware>();
        if (options.Mode == AuthMode.SigV4)
        {
            services.TryAddSingleton<IAccessKeyStore>(_ => new CredentialsFileKeyStore(options.CredentialsFile!));
            return;
        }

        services.TryAddSingleton<IAccessKeyStore, SecretAccessKeyStore>();
        services.TryAddSingleton<ITokenReviewer, KubernetesTokenReviewer>();
        services.TryAddSingleton<IInvokeAuthorizer, KubernetesInvokeAuthorizer>();
    }

    public static void Use(WebApplication app, AuthOptions options)
    {
        if (options.Mode != AuthMode.Off)
        {
            app.Use(app.Services.GetRequiredService<InvokeAuthMiddleware>().InvokeAsync);
        }
    }
}

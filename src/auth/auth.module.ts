import { Module } from '@nestjs/common';
import { Authenticator } from './authenticator.service';

/**
 * Who may call what: API keys, JWTs from the identity provider, and the
 * route → scope table. The check itself is a Fastify hook (authentication.hook.ts)
 * that configureApp registers with this module's Authenticator.
 */
@Module({
  providers: [Authenticator],
  exports: [Authenticator],
})
export class AuthModule {}

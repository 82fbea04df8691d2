import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', '.dependency-cruiser.cjs', 'bin/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // Browser scripts the server serves as they are.
    files: ['assets/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { document: 'readonly', location: 'readonly', fetch: 'readonly', URLSearchParams: 'readonly', SimpleWebAuthnBrowser: 'readonly' } },
  },
  {
    // The portal runs in the browser: browser globals only, no Node.
    files: ['web/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    // web/vite.config.ts is Node code run by Vite.
    files: ['web/vite.config.ts'],
    languageOptions: { globals: { ...globals.node } },
  },
  {
    // Tests read JSON bodies loosely and feed the canonicalizer numbers that lose precision on purpose.
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off', 'no-loss-of-precision': 'off' },
  },
  {
    // The core decides; it never reads the clock or the environment itself.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'core takes time from an injected clock' },
        { selector: "NewExpression[callee.name='Date'][arguments.length=0]", message: 'core takes time from an injected clock' },
        { selector: "MemberExpression[object.name='process']", message: 'core reads no environment' },
      ],
    },
  },
);

import { splitUrlCredentials as sut } from './url.util';

describe('splitUrlCredentials', () => {
  it('moves userinfo out of the URL and drops the trailing slash', () => {
    expect(sut('http://u:p@host:5000/')).toEqual({
      url: 'http://host:5000',
      username: 'u',
      password: 'p',
    });
  });

  it('leaves a URL without credentials as it is, minus the trailing slash', () => {
    expect(sut('https://mlflow.example.com/base/')).toEqual({
      url: 'https://mlflow.example.com/base',
      username: undefined,
      password: undefined,
    });
  });

  it('takes a username without a password', () => {
    expect(sut('http://token@host')).toEqual({
      url: 'http://host',
      username: 'token',
      password: undefined,
    });
  });
});
